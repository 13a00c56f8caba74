import { access } from 'node:fs/promises';
import Sqlite from 'better-sqlite3';
import { databasePath } from './files.js';

/** What a copy of the database holds: counted from the copy, so a restore can check it gets the same. */
export interface DatabaseCounts {
  /**
   * Rows of `current`: every resource, deleted ones included (their tombstone is the current
   * version), and each deferred create still pending (schema 6: its version is stored, its
   * `current` row is written when the store opens and moves it, deferred-writes.ts).
   */
  resources: number;
  /** Rows of `versions`: every version of every resource. */
  versions: number;
  /** Versions of AuditEvents (the hash chain, README "The audit trail"). */
  auditEvents: number;
}

/**
 * Copies the database of a store directory to `dest` while a server may be writing to it
 * (`npm run backup`, issue 18). Uses SQLite's online backup API (https://sqlite.org/backup.html)
 * through a connection of its own, beside the server's (WAL mode lets readers and the writer
 * work side by side; the directory lock is for writers and is not taken).
 *
 * The copy is made in ONE backup step: a step holds a read transaction, so the copy is the
 * database as of one commit. Several smaller steps would each see the latest commit, and SQLite
 * restarts a backup whenever another connection writes between two steps — under steady writes
 * it might never finish. One step never blocks the server's writes; it only delays WAL
 * checkpoints until it ends. Returns undefined when the directory holds no database yet.
 */
export async function snapshotDatabase(dir: string, dest: string): Promise<DatabaseCounts | undefined> {
  const source = databasePath(dir);
  if (!(await exists(source))) return undefined;
  const db = new Sqlite(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    // better-sqlite3 runs a first zero-page step, then asks how many pages the next step takes: all.
    await db.backup(dest, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
  // The copy keeps the WAL flag of its source; a rollback-journal file stands alone (no -wal, -shm beside it). The server sets WAL again when it opens it.
  const copy = new Sqlite(dest, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  return countDatabase(dest);
}

/** Counts what a database file holds (a snapshot, or a restored database before the server opens it). */
export function countDatabase(file: string): DatabaseCounts {
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    const count = (sql: string): number => (db.prepare(sql).pluck().get() as number) ?? 0;
    // Schema 5's pending rows (whole records, in neither table) stay out of every count, as that schema's backups recorded them.
    const deferredVids = (db.prepare("SELECT 1 FROM pragma_table_info('deferred') WHERE name = 'vid'").get() as unknown) !== undefined;
    return {
      resources: count('SELECT count(*) FROM current') + (deferredVids ? count('SELECT count(*) FROM deferred') : 0),
      versions: count('SELECT count(*) FROM versions'),
      auditEvents: count("SELECT count(*) FROM versions WHERE type = 'AuditEvent'"),
    };
  } finally {
    db.close();
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
