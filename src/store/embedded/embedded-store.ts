import type { Logger } from '../../logger.js';
import { StoreUnavailableError, type CollectionName, type Filter, type FindOptions, type StorePort, type StoredRecord, type WriteOp } from '../port.js';
import { OpenStore } from './open-store.js';

/** Options of the embedded store. */
export interface EmbeddedStoreOptions {
  /** Directory holding the journal, snapshots and lock; created if missing. */
  dir: string;
  logger?: Logger;
  /** Journal size that triggers compaction while running (default 64 MiB). */
  compactThresholdBytes?: number;
}

const DEFAULT_COMPACT_THRESHOLD = 64 * 1024 * 1024;

/**
 * The lifecycle around an OpenStore: operations before `open()` or after `close()`, and
 * commits after a journal write failure, throw StoreUnavailableError (the edge answers 503).
 */
export class EmbeddedStore implements StorePort {
  #store: OpenStore | undefined;
  #opening: Promise<OpenStore> | undefined;
  #closing: Promise<void> | undefined;

  constructor(private readonly options: EmbeddedStoreOptions) {}

  async open(): Promise<void> {
    if (this.#store) return;
    await this.#closing;
    this.#opening ??= OpenStore.open({
      dir: this.options.dir,
      logger: this.options.logger,
      compactThresholdBytes: this.options.compactThresholdBytes ?? DEFAULT_COMPACT_THRESHOLD,
    }).finally(() => {
      this.#opening = undefined;
    });
    try {
      this.#store = await this.#opening;
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError(`Embedded store at ${this.options.dir} could not be opened: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    const store = this.#store ?? (await this.#opening?.catch(() => undefined));
    if (!store) return this.#closing;
    this.#store = undefined; // new operations fail at once; submitted commits still finish
    this.#closing = store.close().finally(() => {
      this.#closing = undefined;
    });
    return this.#closing;
  }

  async ping(): Promise<boolean> {
    return this.#store?.healthy ?? false;
  }

  async find(collection: CollectionName, filter: Filter, options?: FindOptions): Promise<StoredRecord[]> {
    return this.#live().find(collection, filter, options);
  }

  async count(collection: CollectionName, filter: Filter): Promise<number> {
    return this.#live().count(collection, filter);
  }

  async revision(resourceType: string): Promise<number> {
    return this.#live().revision(resourceType);
  }

  async commit(writes: WriteOp[]): Promise<void> {
    return this.#live().commit(writes);
  }

  async rewrite(records: StoredRecord[]): Promise<void> {
    return this.#live().rewrite(records);
  }

  async compact(): Promise<void> {
    return this.#live().compact();
  }

  /**
   * The open store. After a journal failure it still serves reads (memory holds exactly the
   * durable commits) while commits fail and ping reports false, so the process gets restarted.
   */
  #live(): OpenStore {
    if (!this.#store) throw new StoreUnavailableError(`Embedded store at ${this.options.dir} is not open`);
    return this.#store;
  }
}
