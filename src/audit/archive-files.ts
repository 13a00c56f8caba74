import type { AuditEvent } from '@medplum/fhirtypes';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { Sealer } from '../crypto/index.js';

/**
 * The audit archive (`DATA_DIR/audit-archive/`, README "The audit trail"): AuditEvents moved out
 * of the store by `npm run audit:archive`, in chain order, one file per run (or per
 * `eventsPerFile`), named after the sequences it holds:
 *
 *   audit-<first>-<last>.ndjson   one line per event: a compact JWE of the event (sealed.ts,
 *                                 at-rest key ring), bound to its sequence, so a line that is
 *                                 altered, moved or copied elsewhere does not open
 *   .audit-<first>.partial        a file being written; renamed into place once complete and
 *                                 fsynced, so a named file is always whole
 */

export const AUDIT_ARCHIVE_DIR = 'audit-archive';

const ARCHIVE_FILE = /^audit-(\d{12})-(\d{12})\.ndjson$/;
const PARTIAL_FILE = /^\.audit-\d+\.partial$/;
const pad = (n: number) => String(n).padStart(12, '0');

export interface ArchiveFile {
  path: string;
  first: number;
  last: number;
}

/** The binding of an archived event's JWE: its place in the chain. */
const bindingOf = (sequence: number) => `audit-archive:audit-${sequence}`;

/** The archive's files in chain order (none when the directory does not exist). */
export async function listArchiveFiles(dir: string): Promise<ArchiveFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files: ArchiveFile[] = [];
  for (const name of names) {
    const match = ARCHIVE_FILE.exec(name);
    if (match) files.push({ path: join(dir, name), first: Number(match[1]), last: Number(match[2]) });
  }
  return files.sort((a, b) => a.first - b.first);
}

/** Removes files a run left unfinished (interrupted before the rename: their events are still in the store). */
export async function removePartialFiles(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of names) if (PARTIAL_FILE.test(name)) await unlink(join(dir, name));
}

/** One archived line: the event, or why it does not open. */
export type ArchivedLine = { sequence: number; event: AuditEvent } | { sequence: number; error: string };

/**
 * The events of a file, streamed, each opened as the event of the sequence it must hold (the
 * file's first, then one more per line). A line that does not open is reported, not thrown.
 */
export async function* readArchiveFile(file: ArchiveFile, sealer: Sealer): AsyncGenerator<ArchivedLine> {
  let sequence = file.first;
  for await (const line of createInterface({ input: createReadStream(file.path, 'utf8'), crlfDelay: Infinity })) {
    const text = line.trim();
    try {
      yield { sequence, event: (await sealer.open(text, bindingOf(sequence))) as AuditEvent };
    } catch (err) {
      yield { sequence, error: (err as Error).message };
    }
    sequence++;
  }
}

/** The last event of a file (its hash continues the chain into the next file or the store). */
export async function lastArchivedEvent(file: ArchiveFile, sealer: Sealer): Promise<AuditEvent> {
  let last: ArchivedLine | undefined;
  for await (const line of readArchiveFile(file, sealer)) last = line;
  if (!last || 'error' in last || last.sequence !== file.last) throw new Error(`${file.path} is damaged (its last event does not open as event ${file.last}); run npm run audit:verify`);
  return last.event;
}

const FLUSH_BYTES = 1 << 20;

/** Writes one archive file: lines to a partial file, then fsync and rename into place. */
export class ArchiveWriter {
  #handle: FileHandle | undefined;
  #pending: string[] = [];
  #pendingBytes = 0;
  #last = 0;

  private constructor(
    private readonly dir: string,
    private readonly sealer: Sealer,
    readonly first: number,
  ) {}

  static async create(dir: string, sealer: Sealer, first: number): Promise<ArchiveWriter> {
    await mkdir(dir, { recursive: true });
    const writer = new ArchiveWriter(dir, sealer, first);
    writer.#handle = await open(writer.#partialPath, 'w', 0o600);
    writer.#last = first - 1;
    return writer;
  }

  get #partialPath(): string {
    return join(this.dir, `.audit-${pad(this.first)}.partial`);
  }

  /** Events written so far. */
  get count(): number {
    return this.#last - this.first + 1;
  }

  /** Appends the next event of the chain. */
  async append(sequence: number, event: AuditEvent): Promise<void> {
    if (sequence !== this.#last + 1) throw new Error(`archive: event ${sequence} out of order (after ${this.#last})`);
    const line = `${await this.sealer.seal(event, bindingOf(sequence))}\n`;
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    this.#last = sequence;
    if (this.#pendingBytes >= FLUSH_BYTES) await this.#flush();
  }

  /** Makes the file durable under its final name and returns it. */
  async finish(): Promise<ArchiveFile> {
    await this.#flush();
    const handle = this.#handle!;
    await handle.sync();
    await handle.close();
    const path = join(this.dir, `audit-${pad(this.first)}-${pad(this.#last)}.ndjson`);
    await rename(this.#partialPath, path);
    const dirHandle = await open(this.dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    return { path, first: this.first, last: this.#last };
  }

  /** Drops an unfinished file (nothing was archived). */
  async abandon(): Promise<void> {
    await this.#handle?.close();
    await unlink(this.#partialPath).catch(() => {});
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    await this.#handle!.write(this.#pending.join(''));
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}
