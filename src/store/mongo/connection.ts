import type { Logger } from '../../logger.js';

/** Something connected that can be closed (the MongoDB handle; a fake in tests). */
export interface Closable {
  close(): Promise<void>;
}

export interface KeeperOptions<T extends Closable> {
  /** Connects and prepares (deployment check, indexes); throws when it cannot. */
  connect: () => Promise<T>;
  /** Where to, for log lines (no credentials). */
  target: string;
  logger?: Logger;
  /** Pause before the n-th retry (1-based), in ms. Default: 1 s doubling to 30 s. */
  retryDelay?: (retry: number) => number;
}

export const defaultRetryDelay = (retry: number): number => Math.min(30_000, 1000 * 2 ** Math.min(retry - 1, 5));

/**
 * Connects at start without ever failing the process: when MongoDB cannot be reached (or is
 * not usable yet, e.g. a replica set not initiated), it logs one clear line, keeps readiness
 * false, and retries in the background with a growing pause until it succeeds or the store is
 * closed. Once connected, the driver itself follows failovers and reconnects.
 */
export class ConnectionKeeper<T extends Closable> {
  #current: T | undefined;
  #closed = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastReason: string | undefined;

  constructor(private readonly options: KeeperOptions<T>) {}

  /** The connection, once established. */
  get current(): T | undefined {
    return this.#current;
  }

  /** Starts connecting; resolves after the first attempt, whether it succeeded or not. */
  start(): Promise<void> {
    if (this.#loop) return Promise.resolve();
    let firstDone!: () => void;
    const first = new Promise<void>((resolve) => (firstDone = resolve));
    this.#loop = this.#run(firstDone);
    return first;
  }

  /** Stops retrying, waits for an attempt in flight, and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
    const current = this.#current;
    this.#current = undefined;
    await current?.close();
  }

  async #run(firstDone: () => void): Promise<void> {
    const { logger, target } = this.options;
    const delay = this.options.retryDelay ?? defaultRetryDelay;
    for (let attempt = 1; !this.#closed; attempt++) {
      try {
        const connection = await this.options.connect();
        if (this.#closed) {
          await connection.close().catch(() => {});
          break;
        }
        this.#current = connection;
        logger?.info({ target, attempts: attempt }, 'mongodb store: connected');
        break;
      } catch (err) {
        if (this.#closed) break;
        const retryInMs = delay(attempt);
        this.#report(err, attempt, retryInMs);
        firstDone();
        await this.#sleep(retryInMs);
      }
    }
    firstDone();
  }

  /** One error line per distinct reason (a repeat of the same reason is logged at debug level). */
  #report(err: unknown, attempt: number, retryInMs: number): void {
    const reason = err instanceof Error ? err.message : String(err);
    const line = { target: this.options.target, attempt, retryInMs, reason };
    if (reason !== this.#lastReason) {
      this.options.logger?.error(line, 'mongodb store: cannot use MongoDB; readiness stays false (GET /readyz answers 503) and the connection is retried');
    } else {
      this.options.logger?.debug(line, 'mongodb store: still cannot use MongoDB; retrying');
    }
    this.#lastReason = reason;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
      this.#timer.unref?.();
    });
  }
}
