import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import type { StoredRecord } from '../../src/store/port.js';

/** The AuditEvents of a search Bundle. */
export const eventsOf = (bundle: Bundle | undefined): AuditEvent[] => (bundle?.entry ?? []).map((e) => e.resource as AuditEvent).filter((r) => r?.resourceType === 'AuditEvent');

/** The embedded store's journal files (`<crc32> <json>` lines, src/store/embedded/line-codec.ts), oldest first. */
async function journals(dataDir: string): Promise<string[]> {
  return (await readdir(dataDir)).filter((n) => /^journal-\d+\.jsonl$/.test(n)).sort().map((n) => path.join(dataDir, n));
}

/** Every commit in the embedded store's journals, as the records each made durable together. */
export async function journalCommits(dataDir: string): Promise<StoredRecord[][]> {
  const commits: StoredRecord[][] = [];
  for (const file of await journals(dataDir)) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (!line) continue;
      const body = JSON.parse(line.slice(9)) as { records?: StoredRecord[] };
      if (body.records) commits.push(body.records);
    }
  }
  return commits;
}

/** The embedded store's snapshot and journal files (src/store/embedded/files.ts). */
async function storeFiles(dataDir: string): Promise<string[]> {
  return (await readdir(dataDir)).filter((n) => /^(snapshot|journal)-\d+\.jsonl$/.test(n)).map((n) => path.join(dataDir, n));
}

/**
 * Edits the stored form of one AuditEvent in the store's files, as someone with access to the disk
 * would: the line's checksum is recomputed, so the store itself accepts the altered line. Opening
 * the store may have moved the journal into a snapshot (one line per resource, `versions`).
 */
export async function tamperStoreFiles(dataDir: string, id: string, edit: (event: AuditEvent) => AuditEvent): Promise<void> {
  for (const file of await storeFiles(dataDir)) {
    let changed = false;
    const lines = (await readFile(file, 'utf8')).split('\n').map((line) => {
      if (!line) return line;
      const body = JSON.parse(line.slice(9)) as { records?: StoredRecord[]; versions?: StoredRecord[] };
      const target = (body.records ?? body.versions)?.find((r) => r.resourceType === 'AuditEvent' && r.id === id);
      if (!target) return line;
      target.resource = edit(target.resource as AuditEvent);
      changed = true;
      const json = JSON.stringify(body);
      return `${crc32(Buffer.from(json, 'utf8')).toString(16).padStart(8, '0')} ${json}`;
    });
    if (changed) return writeFile(file, lines.join('\n'));
  }
  throw new Error(`AuditEvent/${id} is not in the store files of ${dataDir}`);
}
