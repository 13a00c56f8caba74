import { mkdir, open, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredRecord } from '../port.js';
import { decodeLine } from './line-codec.js';
import { readLines } from './line-reader.js';

/**
 * Reader of the embedded store's first on-disk format (before SQLite, issue 13): generations of
 * a checksummed snapshot (`snapshot-<N>.jsonl`, every version of every resource) and a journal
 * (`journal-<N>.jsonl`, one line per commit or in-place rewrite). Read-only: only `npm run
 * migrate` uses it, to copy such a directory into the SQLite store.
 */

const GENERATION_FILE = /^(snapshot|journal)-(\d+)\.jsonl$/;

/** The files of the newest generation, or undefined when `dir` holds no data in the old format. */
export interface LegacyGeneration {
  snapshot?: string;
  journal?: string;
  bytes: number;
}

export async function findLegacyGeneration(dir: string): Promise<LegacyGeneration | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const snapshots: number[] = [];
  const journals: number[] = [];
  for (const name of names) {
    const match = GENERATION_FILE.exec(name);
    if (match) (match[1] === 'snapshot' ? snapshots : journals).push(Number(match[2]));
  }
  if (snapshots.length === 0 && journals.length === 0) return undefined;
  const generation = Math.max(0, ...snapshots);
  const file = (kind: string) => join(dir, `${kind}-${String(generation).padStart(12, '0')}.jsonl`);
  const found: LegacyGeneration = { bytes: 0 };
  if (snapshots.includes(generation)) found.snapshot = file('snapshot');
  if (journals.includes(generation)) found.journal = file('journal');
  for (const path of [found.snapshot, found.journal]) if (path) found.bytes += (await stat(path)).size;
  return found;
}

/** A batch of versions to apply in order: new versions (`commit`) or in-place replacements (`rewrite`). */
export interface LegacyBatch {
  kind: 'commit' | 'rewrite';
  records: StoredRecord[];
  /** Bytes of the files read so far, for progress. */
  position: number;
}

/**
 * Every version of the generation in commit order: the snapshot's resources, then the journal's
 * intact commits. A torn or corrupt journal tail (an unacknowledged commit) ends the journal, as
 * the old engine's recovery did; a defect in the snapshot is real corruption and throws.
 */
export async function* readLegacy(generation: LegacyGeneration): AsyncGenerator<LegacyBatch> {
  let offset = 0;
  if (generation.snapshot) {
    let ended = false;
    let size = 0;
    for await (const line of readLines(generation.snapshot)) {
      size = line.end;
      const value = line.terminated ? (decodeLine(line.bytes) as Record<string, unknown> | undefined) : undefined;
      if (!value || typeof value !== 'object') throw new Error(`Snapshot ${generation.snapshot} is corrupt at byte ${line.start}`);
      if (Array.isArray(value.versions)) yield { kind: 'commit', records: value.versions as StoredRecord[], position: line.end };
      else if ('end' in value) ended = true;
    }
    if (!ended) throw new Error(`Snapshot ${generation.snapshot} is incomplete`);
    offset = size;
  }
  if (!generation.journal) return;
  for await (const line of readLines(generation.journal)) {
    const value = line.terminated ? (decodeLine(line.bytes) as Record<string, unknown> | undefined) : undefined;
    if (value && Array.isArray(value.records)) yield { kind: 'commit', records: value.records as StoredRecord[], position: offset + line.end };
    else if (value && Array.isArray(value.rewrites)) yield { kind: 'rewrite', records: value.rewrites as StoredRecord[], position: offset + line.end };
    else return;
  }
}

/** A message for a directory still in the old format (the server refuses to start on it), else undefined. */
export async function legacyFormatError(dir: string): Promise<string | undefined> {
  const legacy = await findLegacyGeneration(dir);
  if (!legacy) return undefined;
  return `${dir} holds data in the embedded store's old journal format; convert it once with \`npm run migrate -- --from legacy --to embedded\` (DATA_DIR=${dir})`;
}

/** Where `npm run migrate -- --from legacy` moves the old files once their content is in the new store. */
export const LEGACY_ARCHIVE_DIR = 'pre-sqlite';

// Every file the old engine wrote: generations (current and superseded) and unfinished snapshots.
const LEGACY_FILE = /^(snapshot|journal)-\d+\.jsonl(\.tmp)?$/;

/** Names of the old engine's files in `dir`. */
export async function listLegacyFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => LEGACY_FILE.test(name)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Moves the old engine's files into `dir/pre-sqlite/` (renames within the directory, then fsyncs
 * both directories), after which the server opens `dir`. Safe to run again after an interruption:
 * files already moved stay where they are; a name taken in `pre-sqlite/` is refused, never overwritten.
 * Returns the destination directory.
 */
export async function moveLegacyFiles(dir: string): Promise<string> {
  const target = join(dir, LEGACY_ARCHIVE_DIR);
  await mkdir(target, { recursive: true });
  const moved = new Set(await listLegacyFiles(target));
  for (const name of await listLegacyFiles(dir)) {
    if (moved.has(name)) throw new Error(`${join(target, name)} already exists; move ${join(dir, name)} away by hand`);
    await rename(join(dir, name), join(target, name));
  }
  for (const path of [target, dir]) {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  return target;
}
