import { open, stat, unlink } from 'node:fs/promises';
import type { Logger } from '../../logger.js';
import { isCommitLine, isRewriteLine } from './commit-entry.js';
import { Collections } from './collections.js';
import { fsyncDirectory, journalPath, listDirectory, snapshotPath } from './files.js';
import { decodeLine } from './line-codec.js';
import { readLines } from './line-reader.js';
import { loadSnapshot } from './snapshot.js';

/** The state rebuilt from disk. */
export interface Recovered {
  collections: Collections;
  generation: number;
  /** Commits replayed from the journal (0: the snapshot is already up to date). */
  replayed: number;
  snapshotBytes: number;
}

/**
 * Rebuilds the state after a clean shutdown or a crash at any point: loads the newest
 * snapshot, replays its journal up to the last intact line (truncating a torn or corrupt
 * tail), and removes what an interrupted compaction left behind.
 */
export async function recover(dir: string, logger: Logger | undefined): Promise<Recovered> {
  const listing = await listDirectory(dir);
  const generation = listing.snapshots.at(-1) ?? 0;
  const obsolete = [...listing.temps];
  for (const g of listing.snapshots) if (g < generation) obsolete.push(snapshotPath(dir, g));
  for (const g of listing.journals) {
    if (g < generation) obsolete.push(journalPath(dir, g)); // fully contained in the snapshot
    if (g > generation) {
      // Compaction creates the next journal before renaming its snapshot into place;
      // a crash in between leaves it empty. A non-empty one means files were removed by hand.
      if ((await stat(journalPath(dir, g))).size > 0) {
        throw new Error(`Journal ${journalPath(dir, g)} has no snapshot: the store directory is inconsistent`);
      }
      obsolete.push(journalPath(dir, g));
    }
  }
  const collections = new Collections();
  const snapshotBytes = listing.snapshots.length ? await loadSnapshot(snapshotPath(dir, generation), generation, collections) : 0;
  const replayed = listing.journals.includes(generation) ? await replayJournal(journalPath(dir, generation), collections, logger) : 0;
  for (const path of obsolete) await unlink(path);
  if (obsolete.length) await fsyncDirectory(dir);
  return { collections, generation, replayed, snapshotBytes };
}

/**
 * Applies every intact commit line of a journal, in order. The first line that is
 * unterminated, fails its checksum or is not a commit ends the replay, and the file is
 * truncated there: a commit is either wholly in the journal or not at all.
 */
async function replayJournal(path: string, collections: Collections, logger: Logger | undefined): Promise<number> {
  let replayed = 0;
  let goodEnd = 0;
  let badAt: number | undefined;
  let intactAfterBad = 0;
  for await (const line of readLines(path)) {
    const value = line.terminated ? decodeLine(line.bytes) : undefined;
    const ok = isCommitLine(value) || isRewriteLine(value);
    if (badAt === undefined && ok) {
      if (isRewriteLine(value)) collections.replace(value.rewrites);
      else collections.apply(value.records);
      replayed++;
      goodEnd = line.end;
    } else if (badAt === undefined) {
      badAt = line.start;
    } else if (ok) {
      intactAfterBad++;
    }
  }
  if (badAt !== undefined) {
    const { size } = await stat(path);
    const details = { journal: path, offset: goodEnd, discardedBytes: size - goodEnd, intactLinesDiscarded: intactAfterBad };
    // A crash mid-write tears only the unacknowledged tail; an intact line after a bad one can
    // also come from pages of one unfinished write landing out of order, but may mean disk damage.
    if (intactAfterBad > 0) logger?.error(details, 'embedded store: journal damaged before its end; discarded from the first bad line');
    else logger?.warn(details, 'embedded store: discarded a torn or corrupt last journal line');
    await truncate(path, goodEnd);
  }
  return replayed;
}

async function truncate(path: string, length: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
