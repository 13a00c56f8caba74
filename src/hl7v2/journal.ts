import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/**
 * An append-only file of JSON lines with group commit: appends are written in order, and each
 * `append` resolves once its line is on disk (fdatasync), shared by every line of the same batch.
 * Returns each line's byte offset so readers can fetch one record without loading the file.
 */
export class Journal {
  private handle?: FileHandle;
  private size = 0;
  private queue: Array<{ data: Buffer; resolve: (at: { offset: number; end: number }) => void; reject: (err: unknown) => void }> = [];
  private flushing?: Promise<void>;

  constructor(readonly file: string) {}

  /**
   * Opens the file (creating its folder) without reading it: only its tail is read, to drop a
   * torn last line (a crash mid-append). Returns the size of its complete lines.
   */
  async open(): Promise<number> {
    await mkdir(path.dirname(this.file), { recursive: true });
    this.handle = await open(this.file, 'a+');
    const { size } = await this.handle.stat();
    this.size = await this.lastLineEnd(size);
    if (this.size < size) await this.handle.truncate(this.size);
    return this.size;
  }

  /** Identity of the file on disk: changes when a rewrite (or a restore) replaces it. */
  async identity(): Promise<string> {
    return String((await this.handle!.stat({ bigint: true })).ino);
  }

  /** Every complete line from byte `from` on, with its offset and the offset after it, streamed. */
  async *lines(from = 0): AsyncGenerator<{ line: string; offset: number; end: number }> {
    const end = this.size;
    let offset = from;
    let carry = Buffer.alloc(0);
    const buf = Buffer.alloc(256 * 1024);
    for (let pos = from; pos < end; ) {
      const { bytesRead } = await this.handle!.read(buf, 0, Math.min(buf.length, end - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const chunk = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      let start = 0;
      for (let nl = chunk.indexOf(10); nl >= 0; start = nl + 1, nl = chunk.indexOf(10, start)) {
        yield { line: chunk.toString('utf8', start, nl), offset, end: offset + nl + 1 - start };
        offset += nl + 1 - start;
      }
      carry = Buffer.from(chunk.subarray(start));
    }
  }

  private async lastLineEnd(size: number): Promise<number> {
    const buf = Buffer.alloc(64 * 1024);
    for (let pos = size; pos > 0; ) {
      const start = Math.max(0, pos - buf.length);
      const { bytesRead } = await this.handle!.read(buf, 0, pos - start, start);
      const nl = buf.subarray(0, bytesRead).lastIndexOf(10);
      if (nl >= 0) return start + nl + 1;
      pos = start;
    }
    return 0;
  }

  /** Appends one JSON line; resolves with its offset (and the offset after it) once durable. */
  append(value: unknown): Promise<{ offset: number; end: number }> {
    const data = Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
    return new Promise((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Reads the JSON line at `offset`. */
  async read(offset: number): Promise<unknown> {
    const chunks: Buffer[] = [];
    for (let pos = offset; ; ) {
      const buf = Buffer.alloc(64 * 1024);
      const { bytesRead } = await this.handle!.read(buf, 0, buf.length, pos);
      const nl = buf.subarray(0, bytesRead).indexOf(10);
      chunks.push(buf.subarray(0, nl >= 0 ? nl : bytesRead));
      if (nl >= 0 || bytesRead === 0) break;
      pos += bytesRead;
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  }

  /**
   * Replaces every line by `transform(line)` (unchanged when it returns undefined), atomically:
   * the new content goes to a temporary file, is fsynced and renamed over the journal (then the
   * folder is fsynced), so a crash leaves either the old or the new journal, never a mix. Appends
   * wait meanwhile and land after the new content. Returns the new lines with their offsets.
   */
  async rewrite(transform: (line: string) => Promise<string | undefined>): Promise<Array<{ line: string; offset: number }>> {
    while (this.flushing) await this.flushing;
    const run = this.replace(transform);
    // Appends queued meanwhile are written once the new file is in place.
    this.flushing = run.then(
      () => this.flush(),
      () => this.flush(),
    );
    return run;
  }

  private async replace(transform: (line: string) => Promise<string | undefined>): Promise<Array<{ line: string; offset: number }>> {
    const content = (await readFile(this.file)).subarray(0, this.size).toString('utf8');
    const lines: Array<{ line: string; offset: number }> = [];
    let offset = 0;
    for (const line of content.split('\n').slice(0, -1)) {
      const next = (await transform(line)) ?? line;
      lines.push({ line: next, offset });
      offset += Buffer.byteLength(next, 'utf8') + 1;
    }
    const temp = `${this.file}.rewrite`;
    const out = await open(temp, 'w', 0o600);
    try {
      await out.write(lines.map((l) => `${l.line}\n`).join(''));
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(temp, this.file);
    const dir = await open(path.dirname(this.file), 'r');
    await dir.sync().finally(() => dir.close());
    const previous = this.handle!;
    this.handle = await open(this.file, 'a+');
    this.size = offset;
    await previous.close();
    return lines;
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
  }

  private async flush(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      try {
        const offsets: number[] = [];
        for (const item of batch) offsets.push(this.size), (this.size += item.data.length);
        await this.handle!.write(Buffer.concat(batch.map((b) => b.data)));
        await this.handle!.datasync();
        batch.forEach((item, i) => item.resolve({ offset: offsets[i], end: offsets[i] + item.data.length }));
      } catch (err) {
        batch.forEach((item) => item.reject(err));
      }
    }
    this.flushing = undefined;
  }
}
