import { open, type FileHandle } from 'node:fs/promises';
import { writeAll } from './files.js';

/**
 * The journal being appended to. Each append writes whole commit lines and returns only
 * after `fdatasync`, which on Linux also persists the grown file size, so an appended line
 * survives power loss once append resolves. (macOS would need F_FULLFSYNC, which Node does
 * not expose; there a drive cache may still lose the tail.)
 */
export class JournalFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private bytes: number,
  ) {}

  /** Opens (creating if needed) a journal for appending. */
  static async open(path: string): Promise<JournalFile> {
    const handle = await open(path, 'a');
    try {
      const { size } = await handle.stat();
      return new JournalFile(path, handle, size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Size of the journal in bytes. */
  get size(): number {
    return this.bytes;
  }

  /** Appends the data and waits until it is durable. */
  async append(data: Buffer): Promise<void> {
    // O_APPEND: every write lands at the end of the file.
    await writeAll(this.handle, data);
    await this.handle.datasync();
    this.bytes += data.length;
  }

  /** Closes the file; appends already resolved stay durable. */
  async close(): Promise<void> {
    await this.handle.close();
  }
}
