import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A small JSON document in the auth folder (accounts, clients, sessions), read again when another
 * process (the CLI) changed it, and written atomically (temp file + rename, mode 0600) so a crash
 * never leaves half a file. Single-machine deployments only; the data is small.
 */
export class JsonFile<T> {
  private cached?: { mtimeMs: number; size: number; value: T };

  constructor(
    readonly file: string,
    private readonly empty: () => T,
  ) {}

  /** The current content (re-read when the file changed on disk). */
  read(): T {
    let stat;
    try {
      stat = statSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return (this.cached ??= { mtimeMs: 0, size: 0, value: this.empty() }).value;
      throw err;
    }
    if (!this.cached || this.cached.mtimeMs !== stat.mtimeMs || this.cached.size !== stat.size) {
      this.cached = { mtimeMs: stat.mtimeMs, size: stat.size, value: JSON.parse(readFileSync(this.file, 'utf8')) as T };
    }
    return this.cached.value;
  }

  /** Reads, changes and writes back in one synchronous step (no other write interleaves in this process). */
  update<R>(change: (value: T) => R): R {
    const value = structuredClone(this.read());
    const result = change(value);
    this.write(value);
    return result;
  }

  write(value: T): void {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(value, null, 2), { mode: 0o600 });
    renameSync(temp, this.file);
    const stat = statSync(this.file);
    this.cached = { mtimeMs: stat.mtimeMs, size: stat.size, value };
  }
}
