import { open, type FileHandle } from 'node:fs/promises';

/**
 * Group fsync of the write-ahead log. SQLite writes each commit into the WAL synchronously and
 * cheaply (`synchronous = NORMAL`: no fsync of its own); a commit is acknowledged only after an
 * fdatasync of the WAL that started after it was written. One fdatasync runs at a time, on
 * libuv's thread pool so the event loop keeps serving requests, and covers every commit written
 * before it started: under load, many commits share one disk flush (group commit).
 */
export class WalSync {
  #waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  #running = false;
  #failure: unknown;

  private constructor(private readonly handle: FileHandle) {}

  static async open(walPath: string): Promise<WalSync> {
    return new WalSync(await open(walPath, 'r'));
  }

  /** The error of a failed fdatasync: after one, nothing written since can be trusted to be durable. */
  get failure(): unknown {
    return this.#failure;
  }

  /** Resolves once everything written to the WAL before this call is on disk. */
  sync(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const done = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    if (!this.#running) void this.#run();
    return done;
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting.splice(0);
        try {
          await this.handle.datasync();
        } catch (err) {
          this.#failure = err;
          for (const w of [...batch, ...this.#waiting.splice(0)]) w.reject(err);
          return;
        }
        for (const w of batch) w.resolve();
      }
    } finally {
      this.#running = false;
    }
  }

  /** Waits for the flush in progress, then closes the file. */
  async close(): Promise<void> {
    if (this.#running || this.#waiting.length > 0) await this.sync().catch(() => {});
    await this.handle.close();
  }
}
