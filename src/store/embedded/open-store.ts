import { mkdir } from 'node:fs/promises';
import Sqlite, { type Database } from 'better-sqlite3';
import type { Logger } from '../../logger.js';
import { legacyFormatError } from '../legacy/legacy-files.js';
import { StoreUnavailableError, VersionConflictError, type CollectionName, type Filter, type FindOptions, type GroupCount, type ResourceKey, type StoredRecord, type WriteOp } from '../port.js';
import { assertWellFormed } from '../write-checks.js';
import { Checkpointer } from './checkpointer.js';
import { RecordWriter } from './commit.js';
import { DeferredWrites } from './deferred-writes.js';
import { databasePath, fsyncDirectory } from './files.js';
import { acquireLock, releaseLock, type LockOwner } from './lock.js';
import { PathCatalog } from './path-ids.js';
import { countRecords, findCountedRecords, findRecords, groupCountRecords, type QueryContext } from './query.js';
import { GenerationMemo } from './generation-memo.js';
import { SinglePaths } from './single-paths.js';
import { configure, migrateSchema } from './schema.js';
import { StatementCache } from './statement-cache.js';
import { persistUnindexed, type UnindexedKeys } from './unindexed.js';
import { WalSync } from './wal-sync.js';

/** WAL pages after which SQLite checkpoints inside a commit, when the background checkpoints (checkpointer.ts) have stopped. */
const INLINE_CHECKPOINT_PAGES = 10_000;
/** The same while they run: only reached if they fall far behind (~200 MiB of WAL). */
const BACKSTOP_CHECKPOINT_PAGES = 50_000;

/** Settings of an open store. */
export interface OpenStoreSettings {
  dir: string;
  logger?: Logger;
  /** SQLite page cache, the store's only memory that grows with the data (bounded). */
  cacheMiB: number;
  /** See EmbeddedStoreOptions.allowLegacyFiles. */
  allowLegacyFiles?: boolean;
  /** See EmbeddedStoreOptions.unindexed. */
  unindexed?: UnindexedKeys;
  /** See EmbeddedStoreOptions.deferredTypes. */
  deferredTypes?: readonly string[];
  /** See EmbeddedStoreOptions.checkpointIntervalMs. */
  checkpointIntervalMs?: number;
}

/**
 * A store directory while it is open: the lock, one SQLite connection and the WAL's group sync.
 * Reads and writes run synchronously on the connection (better-sqlite3), which is fast because
 * nothing waits for the disk there; a commit then waits for the group fdatasync of the WAL
 * before it resolves. A commit is visible to other requests as soon as it is written, before it
 * is durable (like MongoDB's default read concern), and acknowledged only once it is durable.
 */
export class OpenStore {
  readonly #writer: RecordWriter;
  readonly #query: QueryContext;
  readonly #deferred: DeferredWrites;
  readonly #revisions = new Map<string, number>();
  readonly #checkpointer: Checkpointer;
  #failure: unknown;
  #failureLogged = false;

  private constructor(
    private readonly settings: OpenStoreSettings,
    private readonly lock: LockOwner,
    private readonly db: Database,
    private readonly wal: WalSync,
  ) {
    const paths = new PathCatalog(db);
    const singles = new SinglePaths();
    this.#writer = new RecordWriter(db, paths, settings.unindexed, singles);
    // Queries widen on every key some version was written without, whoever wrote it.
    const unindexed = persistUnindexed(db, settings.unindexed ?? {});
    this.#query = { statements: new StatementCache(db), paths, unindexed, counted: new GenerationMemo((type) => this.revision(type)), singles };
    // Creates a crash left deferred are moved before anything reads (deferred-writes.ts).
    this.#deferred = new DeferredWrites(db, this.#writer, { types: settings.deferredTypes ?? [], due: () => this.#drain() });
    // Checkpoints run beside the event loop; SQLite's own, inside a commit, only if they fall far behind.
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
    this.#checkpointer = new Checkpointer({ path: databasePath(settings.dir), logger: settings.logger, intervalMs: settings.checkpointIntervalMs }, () => db.pragma(`wal_autocheckpoint = ${INLINE_CHECKPOINT_PAGES}`));
    this.#write(() => this.#deferred.drain());
  }

  /** Locks the directory and opens (creating or recovering) its database. */
  static async open(settings: OpenStoreSettings): Promise<OpenStore> {
    const { dir, logger } = settings;
    await mkdir(dir, { recursive: true });
    const lock = await acquireLock(dir, logger);
    let db: Database | undefined;
    try {
      const legacy = settings.allowLegacyFiles ? undefined : await legacyFormatError(dir);
      if (legacy) throw new Error(legacy);
      const path = databasePath(dir);
      db = new Sqlite(path);
      configure(db, settings.cacheMiB);
      migrateSchema(db, (message) => logger?.info({ dir }, message)); // also makes sure the WAL file exists
      const wal = await WalSync.open(`${path}-wal`);
      await wal.sync();
      await fsyncDirectory(dir); // the database and its WAL may have just been created
      const store = new OpenStore(settings, lock, db, wal);
      logger?.info({ dir, resources: store.count('current', {}) }, 'embedded store: opened');
      return store;
    } catch (err) {
      db?.close();
      await releaseLock(dir, lock).catch(() => {});
      throw err;
    }
  }

  /** True until a write or WAL sync has failed. */
  get healthy(): boolean {
    return this.#failure === undefined && this.db.open;
  }

  find(collection: CollectionName, filter: Filter, options?: FindOptions): StoredRecord[] {
    if (this.#deferred.concerns(filter)) this.#drain();
    return findRecords(this.#query, collection, filter, options);
  }

  findCounted(collection: CollectionName, filter: Filter, options?: FindOptions): { records: StoredRecord[]; total: number } {
    if (this.#deferred.concerns(filter)) this.#drain();
    return findCountedRecords(this.#query, collection, filter, options);
  }

  count(collection: CollectionName, filter: Filter): number {
    if (this.#deferred.concerns(filter)) this.#drain();
    return countRecords(this.#query, collection, filter);
  }

  groupCount(collection: CollectionName, filter: Filter, path: string): GroupCount[] {
    if (this.#deferred.concerns(filter)) this.#drain();
    return groupCountRecords(this.#query, collection, filter, path);
  }

  /** Versions of a type committed since the store opened (StorePort.revision). */
  revision(resourceType: string): number {
    return this.#revisions.get(resourceType) ?? 0;
  }

  /**
   * See StorePort.commit. A StoreUnavailableError after the write means the outcome is unknown:
   * the commit was written but its WAL sync failed, so it may or may not survive a restart.
   */
  async commit(writes: WriteOp[]): Promise<void> {
    await this.stage(writes).durable;
  }

  /**
   * See StorePort.stage: the writes are applied now, synchronously, in call order; `durable` waits
   * for the group fdatasync that covers them. Throws (before writing anything) as `commit` rejects.
   */
  stage(writes: WriteOp[]): { durable: Promise<void> } {
    this.#assertHealthy();
    if (writes.length === 0) return { durable: Promise.resolve() };
    assertWellFormed(writes);
    if (this.#deferred.accepts(writes)) {
      this.#write(() => this.#deferred.append(writes));
    } else {
      // A write's own AuditEvent waits with the others (deferred-writes.ts `commitAndDefer`).
      const { now, later } = this.#deferred.split(writes);
      if (this.#deferred.touches(now)) this.#write(() => this.#deferred.drain());
      this.#write(() => this.#deferred.commitAndDefer(now, later));
    }
    for (const { record } of writes) this.#revisions.set(record.resourceType, this.revision(record.resourceType) + 1);
    return { durable: this.#durable() };
  }

  /** See StorePort.rewrite. */
  async rewrite(records: StoredRecord[]): Promise<void> {
    this.#assertHealthy();
    if (records.length === 0) return;
    this.#write(() => this.#deferred.drain());
    this.#write(() => this.#writer.rewrite(records));
    this.#query.counted?.reset();
    await this.#durable();
  }

  /**
   * See StorePort.purge: one transaction deleting the versions, the current row and the search
   * values of each resource. `secure_delete` zeroes the freed pages; `compact` then clears the WAL.
   */
  async purge(records: ReadonlyArray<ResourceKey>): Promise<void> {
    this.#assertHealthy();
    if (records.length === 0) return;
    this.#write(() => this.#deferred.drain());
    this.#write(() => this.#writer.purge(records));
    for (const type of new Set(records.map((r) => r.resourceType))) this.#revisions.set(type, this.revision(type) + 1);
    await this.#durable();
  }

  /**
   * See StorePort.compact: checkpoints the WAL into the database and truncates it, so versions
   * replaced by `rewrite` (already zeroed in the database by `secure_delete`) leave the WAL too.
   */
  async compact(): Promise<void> {
    this.#assertHealthy();
    this.#write(() => this.#deferred.drain());
    await this.#checkpointer.exclusive(() => {
      const [result] = this.#write(() => this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>);
      // Busy: frames were left in the WAL (a reader of an older snapshot); the caller's promise (no old bytes left) is not kept.
      if (result?.busy) throw new Error('embedded store: the WAL could not be truncated (busy); compact again when the store is idle');
    });
    await this.#durable();
  }

  /** Waits for the WAL sync in flight, then closes the database (which checkpoints it) and releases the lock. */
  async close(): Promise<void> {
    try {
      this.#deferred.dispose();
      // Moved now so the next opener finds them in place; if this fails they stay pending, not lost.
      if (this.#failure === undefined) this.#drain();
      await this.#checkpointer.close();
      await this.wal.close();
      if (this.#failure === undefined) this.db.pragma('optimize');
      this.db.close();
    } finally {
      await releaseLock(this.settings.dir, this.lock);
    }
  }

  #write<T>(apply: () => T): T {
    try {
      const result = apply();
      this.#checkpointer.written();
      return result;
    } catch (err) {
      if (err instanceof VersionConflictError || err instanceof TypeError) throw err;
      throw this.#fail(err);
    }
  }

  /**
   * Moves the pending deferred creates. A failure stops the store like any failed write; their
   * versions and rows in `deferred` stay, durable, and are moved when the store opens again.
   */
  #drain(): void {
    if (this.#failure !== undefined || !this.db.open) return;
    try {
      this.#write(() => this.#deferred.drain());
    } catch {
      // #fail logged it; commits now fail with StoreUnavailableError.
    }
  }

  async #durable(): Promise<void> {
    try {
      await this.wal.sync();
    } catch (err) {
      throw this.#fail(err);
    }
  }

  #assertHealthy(): void {
    if (this.#failure !== undefined) throw this.#unavailable(this.#failure);
  }

  #fail(err: unknown): StoreUnavailableError {
    this.#failure ??= err;
    return this.#unavailable(err);
  }

  #unavailable(cause: unknown): StoreUnavailableError {
    if (!this.#failureLogged) {
      this.#failureLogged = true;
      this.settings.logger?.error({ err: cause, dir: this.settings.dir }, 'embedded store: stopped after a write failure');
    }
    return new StoreUnavailableError('Embedded store stopped after a write failure; restart to recover', { cause });
  }
}
