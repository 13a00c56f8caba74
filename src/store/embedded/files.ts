import { open } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * File layout of an embedded store directory:
 *
 *   LOCK              pid of the process that owns the directory
 *   fhirgate.db       the SQLite database (records, history, search values)
 *   fhirgate.db-wal   its write-ahead log: commits not yet checkpointed into the database
 *   fhirgate.db-shm   the WAL's shared-memory index (rebuilt from the WAL when missing)
 */

export const LOCK_FILE = 'LOCK';
export const DATABASE_FILE = 'fhirgate.db';

/** Path of the database of a store directory. */
export function databasePath(dir: string): string {
  return join(dir, DATABASE_FILE);
}

/**
 * Makes creations and deletions in a directory durable. fsync on a file covers its data, not its
 * directory entry; without this a new WAL file can vanish on power loss with the commits in it.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
