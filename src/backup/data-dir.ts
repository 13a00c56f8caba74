import { open, readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

/**
 * What of DATA_DIR a backup holds besides the database (README "Backup and restore"), and how
 * each part is copied while the server writes to it. Each part is written by FhirGate either by
 * atomic rename (a reader that opened the file keeps the old inode, whole) or by appending
 * complete lines (a reader stops at the last newline it saw). A feature that adds files to
 * DATA_DIR adds its row here; files in no row are named in the backup's summary as left out.
 */
interface Part {
  dir: string;
  file: RegExp;
  /** Append-only journal of lines: copy up to the last complete line. */
  lines?: boolean;
}

export const PARTS: readonly Part[] = [
  // Embedded authorization server: accounts, clients, token signing keys, cookie keys, sessions, revoked grants.
  { dir: 'auth', file: /^[^.][^/]*\.json$/ },
  // Partners' public keys for encrypted exchange.
  { dir: 'exchange', file: /^recipients\.json$/ },
  // AuditEvents moved out of the store by `npm run audit:archive`: one chain with those in the database.
  { dir: 'audit-archive', file: /^audit-\d{12}-\d{12}\.ndjson$/ },
  // HL7 v2 message archive and de-duplication journal.
  { dir: 'hl7v2', file: /^messages\.jsonl$/, lines: true },
];

/**
 * Never in a backup: the database's live files (copied through SQLite's backup API instead), the
 * lock, the key ring and control socket (`crypto/`: the backup is encrypted with that key ring;
 * keeping it beside the backup would defeat the encryption), and the old pre-SQLite files.
 */
export const LEFT_OUT = new Set(['LOCK', 'fhirgate.db', 'fhirgate.db-wal', 'fhirgate.db-shm', 'fhirgate.db-journal', 'crypto', 'pre-sqlite']);

/** A file held open at the size it had when captured: later writes to it are not part of the backup. */
export interface CapturedFile {
  /** Path inside DATA_DIR, with `/`. */
  name: string;
  size: number;
  stream(): Readable;
  close(): Promise<void>;
}

/** Opens a file and fixes the part of it a backup takes. */
export async function captureFile(file: string, name: string, lines = false): Promise<CapturedFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // removed since listed
    throw err;
  }
  let size = (await handle.stat()).size;
  if (lines) size = await lastLineEnd(handle, size);
  let streamed = false;
  return {
    name,
    size,
    // The stream closes the handle when it ends or fails (a FileHandle with a stream still open on it never closes).
    stream: () => {
      if (size === 0) return Readable.from([]);
      streamed = true;
      return handle.createReadStream({ start: 0, end: size - 1, highWaterMark: 256 * 1024 });
    },
    close: async () => {
      if (!streamed) await handle.close();
    },
  };
}

/** Captures the parts of DATA_DIR (in PARTS order) and names the top-level entries no part covers. */
export async function captureDataDir(dataDir: string): Promise<{ files: CapturedFile[]; notCovered: string[] }> {
  const files: CapturedFile[] = [];
  try {
    for (const part of PARTS) {
      for (const name of (await list(path.join(dataDir, part.dir))).filter((n) => part.file.test(n)).sort()) {
        const captured = await captureFile(path.join(dataDir, part.dir, name), `${part.dir}/${name}`, part.lines);
        if (captured) files.push(captured);
      }
    }
  } catch (err) {
    await Promise.all(files.map((f) => f.close()));
    throw err;
  }
  const covered = new Set(PARTS.map((p) => p.dir));
  const notCovered = (await list(dataDir)).filter((n) => !covered.has(n) && !LEFT_OUT.has(n) && !n.startsWith('.backup-') && !n.startsWith('.restore-'));
  return { files, notCovered };
}

/** Names in a folder (none when it does not exist). */
export async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The length of the file up to and including its last newline (a line being appended is left out). */
async function lastLineEnd(handle: FileHandle, size: number): Promise<number> {
  const buf = Buffer.alloc(64 * 1024);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - buf.length);
    const { bytesRead } = await handle.read(buf, 0, end - start, start);
    const nl = buf.subarray(0, bytesRead).lastIndexOf(10);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return 0;
}
