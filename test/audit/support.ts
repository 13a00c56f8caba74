import path from 'node:path';
import Sqlite from 'better-sqlite3';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import type { StoredRecord } from '../../src/store/port.js';

/** The AuditEvents of a search Bundle. */
export const eventsOf = (bundle: Bundle | undefined): AuditEvent[] => (bundle?.entry ?? []).map((e) => e.resource as AuditEvent).filter((r) => r?.resourceType === 'AuditEvent');

/** Opens the embedded store's SQLite database beside the running server (WAL lets both use it). */
function database(dataDir: string): Sqlite.Database {
  return new Sqlite(path.join(dataDir, 'fhirgate.db'));
}

/** Every commit of the embedded store, as the records it made durable together (`versions.txn`, src/store/embedded/schema.ts). */
export async function journalCommits(dataDir: string): Promise<StoredRecord[][]> {
  const db = database(dataDir);
  try {
    const commits = new Map<number, StoredRecord[]>();
    for (const row of db.prepare('SELECT txn, record, idx FROM versions ORDER BY vid').all() as Array<{ txn: number; record: string; idx: string | null }>) {
      const list = commits.get(row.txn) ?? [];
      // The record's search values are kept beside it (src/store/embedded/record-format.ts).
      list.push({ ...(JSON.parse(row.record) as StoredRecord), ...(row.idx ? { index: JSON.parse(row.idx) as Record<string, unknown> } : {}) });
      commits.set(row.txn, list);
    }
    return [...commits.values()];
  } finally {
    db.close();
  }
}

/** The records of deferred creates still waiting to be made current (src/store/embedded/deferred-writes.ts: their versions are stored), in commit order. */
export async function deferredRecords(dataDir: string): Promise<StoredRecord[]> {
  const db = database(dataDir);
  try {
    const rows = db.prepare('SELECT v.record, v.idx FROM deferred d JOIN versions v ON v.vid = d.vid ORDER BY d.vid').all() as Array<{ record: string; idx: string | null }>;
    return rows.map((row) => ({ ...(JSON.parse(row.record) as StoredRecord), ...(row.idx ? { index: JSON.parse(row.idx) as Record<string, unknown> } : {}) }));
  } finally {
    db.close();
  }
}

/** Edits the stored form of one AuditEvent in the database file, as someone with access to the disk would. */
export async function tamperStoreFiles(dataDir: string, id: string, edit: (event: AuditEvent) => AuditEvent): Promise<void> {
  const db = database(dataDir);
  try {
    const row = db.prepare("SELECT vid, record FROM versions WHERE type = 'AuditEvent' AND id = ?").get(id) as { vid: number; record: string } | undefined;
    if (!row) throw new Error(`AuditEvent/${id} is not in the store of ${dataDir}`);
    const record = JSON.parse(row.record) as StoredRecord;
    record.resource = edit(record.resource as AuditEvent);
    db.prepare('UPDATE versions SET record = ? WHERE vid = ?').run(JSON.stringify(record), row.vid);
  } finally {
    db.close();
  }
}
