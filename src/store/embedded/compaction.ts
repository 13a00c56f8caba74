import { open, rename, unlink } from 'node:fs/promises';
import type { Collections } from './collections.js';
import { fsyncDirectory, journalPath, snapshotPath, snapshotTempPath } from './files.js';
import { writeSnapshot } from './snapshot.js';

/** Thrown when compaction failed after its snapshot was renamed into place: the store must stop. */
export class CompactionFatalError extends Error {
  constructor(cause: unknown) {
    super('embedded store: compaction failed after switching generation', { cause });
    this.name = 'CompactionFatalError';
  }
}

/**
 * Starts generation `from + 1`: writes the full state as its snapshot and creates its empty
 * journal. Must run while no commit is being written or applied. Crash-safe at every step:
 *
 *  1. snapshot → temp file, fsync          crash: temp deleted on open, generation `from` intact
 *  2. create the new, empty journal        crash: empty journal without snapshot, deleted on open
 *  3. rename temp → snapshot, fsync dir    the switch: from here on, recovery uses `from + 1`
 *
 * The new journal exists before the switch, so there is never a snapshot without its journal.
 * Errors before the switch leave generation `from` in use and are safe to retry later; an
 * error at the directory fsync leaves the switch in doubt and is fatal (CompactionFatalError).
 * The caller deletes the old generation's files afterwards (see `removeGeneration`).
 *
 * Returns the new snapshot's size in bytes.
 */
export async function compact(dir: string, from: number, collections: Collections): Promise<number> {
  const to = from + 1;
  const temp = snapshotTempPath(dir, to);
  let bytes: number;
  try {
    bytes = await writeSnapshot(temp, to, collections);
    await (await open(journalPath(dir, to), 'w')).close();
    await rename(temp, snapshotPath(dir, to));
  } catch (err) {
    await unlink(temp).catch(() => {});
    await unlink(journalPath(dir, to)).catch(() => {});
    throw err;
  }
  try {
    await fsyncDirectory(dir);
  } catch (err) {
    throw new CompactionFatalError(err);
  }
  return bytes;
}

/** Deletes the files of a superseded generation (recovery would delete them too). */
export async function removeGeneration(dir: string, generation: number): Promise<void> {
  await unlink(journalPath(dir, generation)).catch(ignoreMissing);
  await unlink(snapshotPath(dir, generation)).catch(ignoreMissing);
  await fsyncDirectory(dir);
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
