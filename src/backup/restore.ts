import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { Sealer } from '../crypto/index.js';
import { DATABASE_FILE, fsyncDirectory } from '../store/embedded/files.js';
import { acquireLock, releaseLock } from '../store/embedded/lock.js';
import { countDatabase } from '../store/embedded/snapshot.js';
import { BackupError, readHeader } from './backup-file.js';
import { list } from './data-dir.js';
import { isSafeEntryName, MANIFEST_FILE, type Manifest } from './manifest.js';
import { openStream } from './stream-cipher.js';

export interface RestoreOptions {
  file: string;
  dataDir: string;
  sealer: Sealer;
  /** Replace what the target holds (after the whole backup has been read and checked). */
  force: boolean;
  onProgress?(doneBytes: number, totalBytes: number): void;
}

export interface RestoreSummary {
  manifest: Manifest;
  /** Top-level entries of the target replaced (with `force`). */
  replaced: string[];
}

/** What a target DATA_DIR may hold and still count as empty: its lock and its key ring (which the restore needs). */
const KEPT = new Set(['LOCK', 'crypto']);

/**
 * `npm run restore` (issue 18): unpacks a backup into DATA_DIR. The target is locked like an
 * open store (a running server on it stops the restore), and must be empty unless `force`. The
 * backup is decrypted, checked and unpacked into `DATA_DIR/.restore-<id>/` first; only a backup
 * read to its authenticated end, whose files and database counts match its manifest, is moved
 * into place. An altered, cut-short or foreign backup leaves the target as it was.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreSummary> {
  const { dataDir, file } = options;
  const input = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new BackupError(err.code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read (${err.code ?? err.message})`);
  });
  let staging: string | undefined;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const lock = await acquireLock(dataDir, undefined);
  try {
    const { header, bodyKey, bodyOffset } = await readHeader(input, options.sealer, file);
    const present = (await list(dataDir)).filter((n) => !KEPT.has(n) && !n.startsWith('.restore-'));
    if (present.length > 0 && !options.force) {
      throw new BackupError(`${dataDir} is not empty (it holds ${present.slice(0, 5).join(', ')}${present.length > 5 ? ', …' : ''}); restore into an empty DATA_DIR, or pass --force to replace its contents`);
    }
    staging = path.join(dataDir, `.restore-${header.id}`);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { mode: 0o700 });
    const total = (await input.stat()).size - bodyOffset;
    let done = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, next) {
        done += chunk.length;
        options.onProgress?.(done, total);
        next(null, chunk);
      },
    });
    const written = new Map<string, number>();
    await pipeline(createReadStream(file, { start: bodyOffset, highWaterMark: 256 * 1024 }), counted, openStream(bodyKey), createGunzip(), unpack(staging, written));
    const manifest = await checkStaged(staging, written, file);
    const replaced = options.force ? present : [];
    for (const name of replaced) await rm(path.join(dataDir, name), { recursive: true, force: true });
    for (const name of await list(staging)) if (name !== MANIFEST_FILE) await rename(path.join(staging, name), path.join(dataDir, name));
    await fsyncDirectory(dataDir);
    return { manifest, replaced };
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
    await input.close();
    await releaseLock(dataDir, lock);
  }
}

/** A tar extractor writing regular files under `root`; any other entry or unsafe name stops the restore. */
function unpack(root: string, written: Map<string, number>): Writable {
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const fail = (message: string): void => {
      stream.resume();
      next(new BackupError(message));
    };
    if (header.type !== 'file' || !isSafeEntryName(header.name) || written.has(header.name)) return fail(`the backup holds an entry FhirGate does not write: '${header.name}' (${header.type})`);
    const target = path.join(root, ...header.name.split('/'));
    mkdir(path.dirname(target), { recursive: true, mode: 0o700 })
      .then(() => pipeline(stream, createWriteStream(target, { mode: 0o600, flush: true })))
      .then(() => stat(target))
      .then(({ size }) => {
        written.set(header.name, size);
        next();
      })
      .catch(next);
  });
  return extract as unknown as Writable; // a streamx Writable, which Node's pipeline drives like its own
}

/** The manifest of an unpacked backup, after checking the files and the database counts against it. */
async function checkStaged(staging: string, written: Map<string, number>, file: string): Promise<Manifest> {
  if (!written.has(MANIFEST_FILE)) throw new BackupError(`${file} holds no ${MANIFEST_FILE}`);
  const manifest = JSON.parse(await readFile(path.join(staging, MANIFEST_FILE), 'utf8')) as Manifest;
  if (manifest.format !== 1) throw new BackupError(`${file} is in backup format ${String(manifest.format)}; this FhirGate reads format 1`);
  for (const { name, size } of manifest.files) {
    if (written.get(name) !== size) throw new BackupError(`${file}: ${name} should hold ${size} bytes, the backup gave ${written.get(name) ?? 'none'}`);
  }
  if (manifest.counts) {
    const counts = countDatabase(path.join(staging, DATABASE_FILE));
    const same = counts.resources === manifest.counts.resources && counts.versions === manifest.counts.versions && counts.auditEvents === manifest.counts.auditEvents;
    if (!same) throw new BackupError(`${file}: the restored database holds ${JSON.stringify(counts)}, the backup recorded ${JSON.stringify(manifest.counts)}`);
  }
  return manifest;
}
