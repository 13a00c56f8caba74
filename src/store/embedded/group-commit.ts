/**
 * Group commit: items submitted while a flush is in flight are batched into the next flush,
 * so N concurrent commits cost about one write + fsync instead of N, while every commit
 * still waits for the fsync that covers it. Flushes run strictly one after another, in
 * submission order.
 *
 * A failed flush is fatal (fail-stop): after a failed write or fsync the file's contents are
 * unknown and the kernel may have dropped the dirty pages, so retrying could silently lose
 * data (see PostgreSQL's "fsyncgate"). The batch, everything queued and every later submit
 * are rejected; reopening the store recovers from what reached the disk.
 */
interface Pending<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<T> {
  #queue: Pending<T>[] = [];
  #running: Promise<void> | undefined;
  #failure: unknown;

  /**
   * @param flush writes a batch durably; may apply it to memory before returning.
   * @param afterBatch runs between batches with nothing in flight (compaction); a throw is fatal too.
   */
  constructor(
    private readonly flush: (items: T[]) => Promise<void>,
    private readonly afterBatch: () => Promise<void> = async () => {},
  ) {}

  /** Resolves once the item's batch has been flushed. */
  submit(item: T): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const done = new Promise<void>((resolve, reject) => this.#queue.push({ item, resolve, reject }));
    this.#running ??= this.#run();
    return done;
  }

  /** Resolves when everything submitted so far has been flushed (or has failed). */
  async drain(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** The error that stopped the committer, if any. */
  get failure(): unknown {
    return this.#failure;
  }

  async #run(): Promise<void> {
    // Yield once so `submit` has stored this promise in #running before the finally below clears it.
    await Promise.resolve();
    try {
      while (this.#queue.length && this.#failure === undefined) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          await this.flush(batch.map((entry) => entry.item));
        } catch (err) {
          this.#fail(err, batch);
          break;
        }
        for (const entry of batch) entry.resolve();
        try {
          await this.afterBatch();
        } catch (err) {
          this.#fail(err, []);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  #fail(err: unknown, batch: Pending<T>[]): void {
    this.#failure = err;
    for (const entry of [...batch, ...this.#queue]) entry.reject(err);
    this.#queue = [];
  }
}
