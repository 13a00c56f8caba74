import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * File layout of an embedded store directory. State is kept in generations: snapshot N
 * holds everything committed before journal N was started, journal N the commits since.
 * A snapshot is written to a temp file and renamed into place, so it exists only when
 * complete; the highest snapshot therefore decides the current generation.
 *
 *   LOCK                     pid of the process that owns the directory
 *   snapshot-<N>.jsonl       full state at the start of generation N (absent for N = 0)
 *   journal-<N>.jsonl        commits of generation N, one checksummed line each
 *   *.tmp                    an unfinished snapshot; deleted on open
 */

const DIGITS = 12;
const GENERATION_FILE = /^(snapshot|journal)-(\d+)\.jsonl$/;

export const LOCK_FILE = 'LOCK';

/** Path of the journal of a generation. */
export function journalPath(dir: string, generation: number): string {
  return join(dir, `journal-${String(generation).padStart(DIGITS, '0')}.jsonl`);
}

/** Path of the snapshot of a generation. */
export function snapshotPath(dir: string, generation: number): string {
  return join(dir, `snapshot-${String(generation).padStart(DIGITS, '0')}.jsonl`);
}

/** Path a snapshot is written to before it is renamed into place. */
export function snapshotTempPath(dir: string, generation: number): string {
  return `${snapshotPath(dir, generation)}.tmp`;
}

/** What the directory holds, by kind. */
export interface DirectoryListing {
  snapshots: number[];
  journals: number[];
  temps: string[];
}

/** Lists the generation files and leftover temp files of a store directory. */
export async function listDirectory(dir: string): Promise<DirectoryListing> {
  const listing: DirectoryListing = { snapshots: [], journals: [], temps: [] };
  for (const name of await readdir(dir)) {
    const match = GENERATION_FILE.exec(name);
    if (match) (match[1] === 'snapshot' ? listing.snapshots : listing.journals).push(Number(match[2]));
    else if (name.endsWith('.tmp')) listing.temps.push(join(dir, name));
  }
  listing.snapshots.sort((a, b) => a - b);
  listing.journals.sort((a, b) => a - b);
  return listing;
}

/**
 * Makes creations, renames and deletions in a directory durable. fsync on a file covers
 * its data, not its directory entry; without this a renamed snapshot can vanish on power loss.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes all of `data` at the handle's current position (a single write may be partial). */
export async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}
