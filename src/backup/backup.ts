import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import type { Sealer } from '../crypto/index.js';
import { DATABASE_FILE, fsyncDirectory } from '../store/embedded/files.js';
import { snapshotDatabase, type DatabaseCounts } from '../store/embedded/snapshot.js';
import { newHeader } from './backup-file.js';
import { captureDataDir, captureFile, type CapturedFile } from './data-dir.js';
import { MANIFEST_FILE, type Manifest } from './manifest.js';
import { sealStream } from './stream-cipher.js';

export interface BackupOptions {
  dataDir: string;
  /** Where the backup goes; written as `<out>.partial`, renamed once complete and on disk. */
  out: string;
  sealer: Sealer;
  /** Resources live in MongoDB (MONGODB_URI): back up DATA_DIR's files only; the database is mongodump's. */
  mongodb: boolean;
  softwareVersion: string;
  clock?: () => Date;
  onProgress?(doneBytes: number, totalBytes: number): void;
  /** A step is starting or done (the database copy shows no progress of its own: it is one step). */
  onStep?(message: string): void;
}

export interface BackupSummary {
  id: string;
  out: string;
  /** Size of the backup file. */
  bytes: number;
  manifest: Manifest;
  /** Top-level entries of DATA_DIR no part of a backup covers (data-dir.ts). */
  notCovered: string[];
}

/**
 * `npm run backup` (issue 18): an online, consistent, encrypted copy of DATA_DIR. The files
 * beside the database are captured first, then the database (one SQLite backup step, as of one
 * commit): what the files say happened (an HL7 message applied, an audit range archived) is then
 * in the database too, as after a crash, which FhirGate recovers from.
 */
export async function createBackup(options: BackupOptions): Promise<BackupSummary> {
  const { dataDir, sealer } = options;
  const now = (options.clock ?? (() => new Date()))();
  const { header: sealed, bodyKey, lines } = await newHeader(sealer, now);
  const { files, notCovered } = await captureDataDir(dataDir);
  // The plaintext copy of the database stays inside DATA_DIR: the same disk and permissions as the live one.
  const snapshot = path.join(dataDir, `.backup-${sealed.id}.db`);
  const partial = `${options.out}.partial`;
  try {
    let store: DatabaseCounts | undefined;
    if (!options.mongodb) {
      options.onStep?.('Copying the database as of one commit (SQLite online backup)…');
      store = await snapshotDatabase(dataDir, snapshot);
      const db = store ? await captureFile(snapshot, DATABASE_FILE) : undefined;
      if (db) files.unshift(db);
      if (db && store) options.onStep?.(`Database copied: ${store.resources} resources, ${store.versions} versions (${(db.size / 1024 / 1024).toFixed(1)} MiB); packing and encrypting…`);
    }
    const manifest: Manifest = {
      format: 1,
      id: sealed.id,
      createdAt: sealed.createdAt,
      softwareVersion: options.softwareVersion,
      store: options.mongodb ? 'mongodb' : 'embedded',
      ...(store ? { counts: store } : {}),
      files: files.map((f) => ({ name: f.name, size: f.size })),
    };
    const total = files.reduce((sum, f) => sum + f.size, 0);
    const header = async function* (body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      yield lines;
      yield* body;
    };
    // flush: fsync before the file is closed; only then is it renamed into place.
    const out = createWriteStream(partial, { flags: 'wx', mode: 0o600, flush: true });
    await pipeline(packed(manifest, files, total, options.onProgress), createGzip({ level: 6 }), sealStream(bodyKey), header, out);
    await rename(partial, options.out);
    await fsyncDirectory(path.dirname(path.resolve(options.out)));
    const { size } = await stat(options.out);
    return { id: sealed.id, out: options.out, bytes: size, manifest, notCovered };
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  } finally {
    await Promise.all(files.map((f) => f.close()));
    await rm(snapshot, { force: true });
    await rm(`${snapshot}-journal`, { force: true });
  }
}

/** The tar stream: the manifest first, then each captured file, reporting bytes as they pass. */
function packed(manifest: Manifest, files: CapturedFile[], total: number, onProgress?: (done: number, total: number) => void): Readable {
  const pack = tar.pack();
  let done = 0;
  onProgress?.(0, total);
  const feed = async (): Promise<void> => {
    const mtime = new Date(manifest.createdAt);
    const json = Buffer.from(JSON.stringify(manifest, null, 2));
    await entry(pack, { name: MANIFEST_FILE, mtime }, Readable.from([json]), json.length);
    for (const file of files) {
      const counted = new Transform({
        transform(chunk: Buffer, _enc, next) {
          done += chunk.length;
          onProgress?.(done, total);
          next(null, chunk);
        },
      });
      await entry(pack, { name: file.name, mtime }, file.stream().pipe(counted), file.size);
    }
    pack.finalize();
  };
  feed().catch((err: unknown) => pack.destroy(err as Error));
  // tar-stream's streams are streamx streams; Node's pipeline drives them as it does its own.
  return pack as unknown as Readable;
}

function entry(pack: tar.Pack, header: { name: string; mtime: Date }, source: Readable, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    const full = { ...header, size, mode: 0o600, type: 'file' as const };
    // An empty entry is complete as soon as it is added: nothing may be piped into it.
    if (size === 0) return void pack.entry(full, Buffer.alloc(0), done);
    const sink = pack.entry(full, done);
    source.on('error', reject);
    source.pipe(sink as unknown as NodeJS.WritableStream);
  });
}
