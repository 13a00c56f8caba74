import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../logger.js';

/**
 * The worker's program: its own SQLite connection to the store's database, running a PASSIVE
 * checkpoint when asked. CommonJS evaluated from a string, so it runs the same under `node
 * dist/main.js`, tsx and vitest (no TypeScript loader is needed in the worker).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Sqlite = require(workerData.driver);
const db = new Sqlite(workerData.path, { fileMustExist: true });
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ frames: result.log, copied: result.checkpointed });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
});
`;

/** Settings of a store's background checkpoints. */
export interface CheckpointerSettings {
  /** The database file. */
  path: string;
  logger?: Logger;
  /** How often, at most, a checkpoint runs while commits arrive (default 1000 ms). */
  intervalMs?: number;
}

/**
 * Checkpoints the WAL into the database on a worker thread (issue 14). Left to SQLite, the
 * checkpoint runs inside whichever commit crosses `wal_autocheckpoint` pages: it copies up to
 * ~40 MiB of pages and fsyncs the WAL and the database on the event loop, stalling every request
 * for 67–170 ms on this machine. A PASSIVE checkpoint from another connection copies the frames
 * every reader is done with without taking the write lock (https://sqlite.org/wal.html#ckpt), so
 * the server keeps committing meanwhile; the next commit after a complete one restarts the WAL.
 * The worker starts with the first commit that finds a checkpoint due, so short-lived stores
 * (the CLIs, tests) never start one. If it fails, SQLite's own checkpoints remain (see `fallback`).
 */
export class Checkpointer {
  readonly #intervalMs: number;
  #worker: Worker | undefined;
  /** The worker's checkpoint in flight: `ended` settles when its answer comes or the worker fails. */
  #inFlight: { ended: Promise<void>; end: () => void } | undefined;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #failed = false;
  #closing: Promise<void> | undefined;

  /** @param fallback Called once if the worker fails: the store gives checkpoints back to SQLite. */
  constructor(
    private readonly settings: CheckpointerSettings,
    private readonly fallback: () => void,
  ) {
    this.#intervalMs = settings.intervalMs ?? 1000;
  }

  /** Called after each commit: a checkpoint runs within the interval. */
  written(): void {
    if (this.#failed || this.#closing) return;
    this.#dirty = true;
    this.#timer ??= setTimeout(() => this.#run(), this.#intervalMs).unref();
  }

  #run(): void {
    this.#timer = undefined;
    if (this.#inFlight || this.#closing || this.#failed) return;
    this.#dirty = false;
    let end = (): void => {};
    this.#inFlight = { ended: new Promise<void>((resolve) => (end = resolve)), end };
    this.#ensureWorker().postMessage('checkpoint');
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: this.settings.path, driver } });
    worker.unref();
    worker.on('message', (result: { frames?: number; copied?: number; error?: string }) => {
      this.#landed();
      if (result.error) return this.#fail(new Error(result.error));
      // Commits that arrived while it ran: the next checkpoint picks them up.
      if (this.#dirty) this.written();
    });
    worker.on('error', (err) => this.#fail(err));
    this.#worker = worker;
    return worker;
  }

  /**
   * Runs `work` with no checkpoint of the worker in flight or starting: a TRUNCATE checkpoint of the
   * store's own connection fails at once (SQLITE_BUSY, the busy handler is not asked) while another
   * connection checkpoints (https://sqlite.org/c3ref/wal_checkpoint_v2.html), leaving the WAL whole.
   */
  async exclusive<T>(work: () => T): Promise<T> {
    await this.#inFlight?.ended;
    // No checkpoint starts between this wait and `work`: one starts only from a timer (`written`), and `work` is synchronous.
    return work();
  }

  /** The checkpoint in flight has ended, answered or not. */
  #landed(): void {
    this.#inFlight?.end();
    this.#inFlight = undefined;
  }

  #fail(err: unknown): void {
    this.#landed();
    if (this.#failed || this.#closing) return;
    this.#failed = true;
    this.settings.logger?.warn({ err }, 'embedded store: background checkpoints stopped; SQLite checkpoints inside commits again');
    this.fallback();
    void this.#worker?.terminate();
    this.#worker = undefined;
  }

  /** Stops the checkpoints and closes the worker's connection (before the store closes its own, which then checkpoints everything). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer) clearTimeout(this.#timer);
      const worker = this.#worker;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref(); // the process waits for the worker to close its connection
      worker.postMessage('close');
      await exited;
    })();
    return this.#closing;
  }
}
