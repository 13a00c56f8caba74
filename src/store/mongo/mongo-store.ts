import type { Filter as MongoFilter } from 'mongodb';
import type { Logger } from '../../logger.js';
import { StoreUnavailableError, type CollectionName, type Filter, type FindOptions, type GroupCount, type ResourceKey, type StorePort, type StoredRecord, type WriteOp } from '../port.js';
import { assertWellFormed } from '../write-checks.js';
import { connectMongo, type ConnectionSettings, type MongoHandle } from './client.js';
import { commitWrites, rewriteVersions } from './commit.js';
import { purgeResources } from './purge.js';
import { ConnectionKeeper } from './connection.js';
import { describeTarget } from './deployment.js';
import { findCommand, readPreferenceFor, type ReadPreferenceName } from './documents.js';
import { toStoreError } from './errors.js';
import { groupCountPipeline, groupsOf } from './group-count.js';
import type { IndexPlan } from './index-plan.js';
import type { RetryPolicy } from './transaction.js';

/** Options of the MongoDB store. */
export interface MongoStoreOptions extends ConnectionSettings {
  /** The indexes to keep (from `indexPlan`). */
  indexes: IndexPlan;
  /** Where searches read (reads by id and history always use the primary). Default `primary`. */
  searchReadPreference?: ReadPreferenceName;
  logger?: Logger;
  /** Pause before the n-th connection retry at start. */
  retryDelay?: (retry: number) => number;
  /** Retries of a transaction on write conflicts. */
  retryPolicy?: RetryPolicy;
  /** Replaces the real connection (tests of the lifecycle without a server). */
  connect?: () => Promise<MongoHandle>;
}

type RecordFilter = MongoFilter<StoredRecord & { _id: string }>;

const settled = (): void => undefined;

/**
 * The StorePort on MongoDB. `open()` never fails for an unreachable server: it tries once,
 * then keeps retrying in the background while `ping()` is false and every operation throws
 * StoreUnavailableError (503 with Retry-After). Filters are the query documents the embedded
 * store runs, sent unchanged.
 */
export class MongoStore implements StorePort {
  readonly #keeper: ConnectionKeeper<MongoHandle>;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #target: string;
  #opened = false;
  #closed = false;

  constructor(private readonly options: MongoStoreOptions) {
    this.#target = describeTarget(options.uri);
    const logger = options.logger;
    this.#keeper = new ConnectionKeeper({
      connect: options.connect ?? (() => connectMongo(options, options.indexes, logger)),
      target: this.#target,
      logger,
      retryDelay: options.retryDelay,
    });
  }

  async open(): Promise<void> {
    if (this.#opened) return;
    this.#opened = true;
    await this.#keeper.start();
  }

  /** Lets operations in flight finish, stops connecting, and closes the client. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inflight]);
    await this.#keeper.close();
  }

  async ping(): Promise<boolean> {
    return !this.#closed && (this.#keeper.current?.writable() ?? false);
  }

  find(collection: CollectionName, filter: Filter, options?: FindOptions): Promise<StoredRecord[]> {
    const readPreference = readPreferenceFor(collection, filter, this.options.searchReadPreference ?? 'primary');
    return this.#run(async ({ collections }) => {
      const found = await collections[collection].find(filter as RecordFilter, { ...findCommand(options), readPreference }).toArray();
      return found as StoredRecord[];
    });
  }

  count(collection: CollectionName, filter: Filter): Promise<number> {
    const readPreference = readPreferenceFor(collection, filter, this.options.searchReadPreference ?? 'primary');
    return this.#run(({ collections }) => collections[collection].countDocuments(filter as RecordFilter, { readPreference }));
  }

  groupCount(collection: CollectionName, filter: Filter, path: string): Promise<GroupCount[]> {
    const readPreference = readPreferenceFor(collection, filter, this.options.searchReadPreference ?? 'primary');
    return this.#run(async ({ collections }) => groupsOf(await collections[collection].aggregate(groupCountPipeline(filter, path), { readPreference }).toArray()));
  }

  commit(writes: WriteOp[]): Promise<void> {
    return this.#run(async ({ client, collections }) => {
      if (writes.length === 0) return;
      assertWellFormed(writes);
      const session = client.startSession();
      try {
        await commitWrites(collections, session, writes, this.options.retryPolicy);
      } finally {
        await session.endSession().catch(() => {});
      }
    });
  }

  /** See StorePort.rewrite (key rotation): in place, in one transaction, no version check. */
  rewrite(records: StoredRecord[]): Promise<void> {
    return this.#run(async ({ client, collections }) => {
      if (records.length === 0) return;
      const session = client.startSession();
      try {
        await rewriteVersions(collections, session, records, this.options.retryPolicy);
      } finally {
        await session.endSession().catch(() => {});
      }
    });
  }

  /** See StorePort.purge (audit retention): every version of each resource, in one transaction. */
  purge(records: ReadonlyArray<ResourceKey>): Promise<void> {
    return this.#run(async ({ client, collections }) => {
      if (records.length === 0) return;
      const session = client.startSession();
      try {
        await purgeResources(collections, session, records, this.options.retryPolicy);
      } finally {
        await session.endSession().catch(() => {});
      }
    });
  }

  /** Runs an operation on the live connection, tracked so `close` can wait for it; driver errors become port errors. */
  #run<T>(operation: (handle: MongoHandle) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('MongoDB store is closed'));
    const handle = this.#keeper.current;
    if (!handle) return Promise.reject(new StoreUnavailableError(`MongoDB at ${this.#target} is not connected yet; retrying in the background`));
    const running = operation(handle).catch((err: unknown) => {
      throw toStoreError(err);
    });
    const tracked: Promise<unknown> = running.then(settled, settled).finally(() => this.#inflight.delete(tracked));
    this.#inflight.add(tracked);
    return running;
  }
}
