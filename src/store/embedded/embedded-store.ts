import type { Logger } from '../../logger.js';
import { StoreUnavailableError, type CollectionName, type Filter, type FindOptions, type GroupCount, type ResourceKey, type StorePort, type StoredRecord, type WriteOp } from '../port.js';
import { OpenStore } from './open-store.js';
import type { UnindexedKeys } from './unindexed.js';

/** Options of the embedded store. */
export interface EmbeddedStoreOptions {
  /** Directory holding the database and lock; created if missing. */
  dir: string;
  logger?: Logger;
  /** SQLite page cache in MiB (default 16): the bound on the store's memory. */
  cacheMiB?: number;
  /**
   * Opens even though the directory still holds files of the old journal format, which otherwise
   * refuse the open. Only for `npm run migrate -- --from legacy`, which fills the new store from them.
   */
  allowLegacyFiles?: boolean;
  /**
   * Keys of `record.index` to keep out of the search-value table, by resource type (unindexed.ts):
   * queries and sorts on them stay exact but read the records of those types.
   */
  unindexed?: UnindexedKeys;
  /**
   * Resource types whose plain creates are committed as their version and a pending row each, made
   * current and indexed later in batches (deferred-writes.ts): the AuditEvent of every request.
   * Queries and writes see them as if committed in full.
   */
  deferredTypes?: readonly string[];
  /** How often, at most, the WAL is checkpointed in the background while commits arrive (default 1000 ms; checkpointer.ts). */
  checkpointIntervalMs?: number;
}

/**
 * 16 MiB holds the B-tree interior pages every lookup walks; a leaf a request misses is read
 * from the kernel's page cache (a pread, microseconds), which holds the file without counting
 * in the server's RSS. 64 MiB fill up while a large data set is loaded and stay in the RSS
 * (issue 13; README "Storage", "Memory").
 */
const DEFAULT_CACHE_MIB = 16;

/**
 * The lifecycle around an OpenStore: operations before `open()` or after `close()`, and
 * commits after a write failure, throw StoreUnavailableError (the edge answers 503).
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
      cacheMiB: this.options.cacheMiB ?? DEFAULT_CACHE_MIB,
      allowLegacyFiles: this.options.allowLegacyFiles,
      unindexed: this.options.unindexed,
      deferredTypes: this.options.deferredTypes,
      checkpointIntervalMs: this.options.checkpointIntervalMs,
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

  async findCounted(collection: CollectionName, filter: Filter, options?: FindOptions): Promise<{ records: StoredRecord[]; total: number }> {
    return this.#live().findCounted(collection, filter, options);
  }

  async count(collection: CollectionName, filter: Filter): Promise<number> {
    return this.#live().count(collection, filter);
  }

  async groupCount(collection: CollectionName, filter: Filter, path: string): Promise<GroupCount[]> {
    return this.#live().groupCount(collection, filter, path);
  }

  async revision(resourceType: string): Promise<number> {
    return this.#live().revision(resourceType);
  }

  async commit(writes: WriteOp[]): Promise<void> {
    return this.#live().commit(writes);
  }

  async stage(writes: WriteOp[]): Promise<{ durable: Promise<void> }> {
    return this.#live().stage(writes);
  }

  async rewrite(records: StoredRecord[]): Promise<void> {
    return this.#live().rewrite(records);
  }

  async compact(): Promise<void> {
    return this.#live().compact();
  }

  async purge(records: ReadonlyArray<ResourceKey>): Promise<void> {
    return this.#live().purge(records);
  }

  /**
   * The open store. After a write failure it still serves reads while commits fail and ping
   * reports false, so the process gets restarted.
   */
  #live(): OpenStore {
    if (!this.#store) throw new StoreUnavailableError(`Embedded store at ${this.options.dir} is not open`);
    return this.#store;
  }
}
