import { mkdir } from 'node:fs/promises';
import type { Logger } from '../../logger.js';
import { StoreUnavailableError, type CollectionName, type Filter, type FindOptions, type StoredRecord, type WriteOp } from '../port.js';
import { assertWellFormed, toCommitEntry, toRewriteEntry, type CommitEntry } from './commit-entry.js';
import type { Collections } from './collections.js';
import { compact, CompactionFatalError, removeGeneration } from './compaction.js';
import { fsyncDirectory, journalPath } from './files.js';
import { GroupCommit } from './group-commit.js';
import { JournalFile } from './journal-file.js';
import { acquireLock, releaseLock, type LockOwner } from './lock.js';
import { countRecords, findRecords } from './query.js';
import { recover } from './recovery.js';
import { VersionReservations } from './versions.js';

/** Settings of an open store. */
export interface OpenStoreSettings {
  dir: string;
  logger?: Logger;
  compactThresholdBytes: number;
}

/**
 * A store directory while it is open: the lock, the in-memory state, the journal and the
 * group committer. Commit path: check shape → serialize → reserve versions (conflicts
 * surface here, before anything is written) → group commit (write + fdatasync) → apply to
 * memory → resolve. Memory only ever holds what the journal already holds durably.
 */
export class OpenStore {
  readonly #committer: GroupCommit<CommitEntry>;
  readonly #reservations: VersionReservations;
  #compactAt: number;
  #failureLogged = false;
  /** Callers of `compact()` waiting for the next compaction. */
  readonly #compactRequests: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];

  private constructor(
    private readonly settings: OpenStoreSettings,
    private readonly lock: LockOwner,
    private readonly collections: Collections,
    private journal: JournalFile,
    private generation: number,
    snapshotBytes: number,
  ) {
    this.#reservations = new VersionReservations((type, id) => collections.current(type, id)?.versionId ?? 0);
    this.#committer = new GroupCommit((batch) => this.#flush(batch), () => this.#compactIfDue());
    this.#compactAt = this.#nextCompaction(snapshotBytes);
  }

  /** Locks the directory, recovers its state and compacts what was replayed. */
  static async open(settings: OpenStoreSettings): Promise<OpenStore> {
    const { dir, logger } = settings;
    await mkdir(dir, { recursive: true });
    const lock = await acquireLock(dir, logger);
    try {
      const recovered = await recover(dir, logger);
      let { generation, snapshotBytes } = recovered;
      if (recovered.replayed > 0) {
        // Start from a fresh journal so the next start-up does not replay this one again.
        try {
          snapshotBytes = await compact(dir, generation, recovered.collections);
          generation++;
          await removeGeneration(dir, generation - 1);
        } catch (err) {
          if (err instanceof CompactionFatalError) throw err;
          logger?.warn({ err, dir }, 'embedded store: compaction on open failed; continuing with the replayed journal');
        }
      }
      const journal = await JournalFile.open(journalPath(dir, generation));
      await fsyncDirectory(dir); // the journal may have just been created
      logger?.info({ dir, generation, resources: recovered.collections.resourceCount, replayed: recovered.replayed }, 'embedded store: opened');
      return new OpenStore(settings, lock, recovered.collections, journal, generation, snapshotBytes);
    } catch (err) {
      await releaseLock(dir, lock).catch(() => {});
      throw err;
    }
  }

  /** True until a journal write, fsync or compaction has failed. */
  get healthy(): boolean {
    return this.#committer.failure === undefined;
  }

  /** See StorePort.find; answered from memory. */
  find(collection: CollectionName, filter: Filter, options?: FindOptions): StoredRecord[] {
    return findRecords(this.collections, collection, filter, options);
  }

  /** See StorePort.count. */
  revision(resourceType: string): number {
    return this.collections.revision(resourceType);
  }

  count(collection: CollectionName, filter: Filter): number {
    return countRecords(this.collections, collection, filter);
  }

  /**
   * See StorePort.commit. A StoreUnavailableError means the outcome is unknown: the line may
   * have reached the disk before its fsync failed, and would then reappear after a restart.
   */
  async commit(writes: WriteOp[]): Promise<void> {
    if (!this.healthy) throw this.#unavailable(this.#committer.failure);
    if (writes.length === 0) return;
    assertWellFormed(writes);
    this.#reservations.reserve(writes); // throws VersionConflictError, reserving nothing
    let entry: CommitEntry;
    try {
      entry = toCommitEntry(writes);
    } catch (err) {
      this.#reservations.release(writes.map((w) => w.record));
      throw err;
    }
    try {
      await this.#committer.submit(entry);
    } catch (err) {
      this.#reservations.clear(); // the committer has stopped; nothing pending will apply
      throw this.#unavailable(err);
    }
  }

  /**
   * See StorePort.rewrite: one journal line through the group committer, so it is ordered with
   * commits exactly as recovery will replay it.
   */
  async rewrite(records: StoredRecord[]): Promise<void> {
    if (!this.healthy) throw this.#unavailable(this.#committer.failure);
    if (records.length === 0) return;
    try {
      await this.#committer.submit(toRewriteEntry(records));
    } catch (err) {
      this.#reservations.clear();
      throw this.#unavailable(err);
    }
  }

  /** See StorePort.compact: compacts between batches, as soon as the next (empty) batch is through. */
  async compact(): Promise<void> {
    if (!this.healthy) throw this.#unavailable(this.#committer.failure);
    const done = new Promise<void>((resolve, reject) => this.#compactRequests.push({ resolve, reject }));
    await this.#committer.submit({ line: Buffer.alloc(0), records: [] }).catch((err) => {
      throw this.#unavailable(err);
    });
    return done;
  }

  /** Waits for submitted commits, then closes the journal and releases the lock. */
  async close(): Promise<void> {
    try {
      await this.#committer.drain();
    } finally {
      await this.journal.close().catch((err) => this.settings.logger?.warn({ err }, 'embedded store: closing the journal failed'));
      await releaseLock(this.settings.dir, this.lock);
    }
  }

  async #flush(batch: CommitEntry[]): Promise<void> {
    await this.journal.append(batch.length === 1 ? batch[0].line : Buffer.concat(batch.map((e) => e.line)));
    for (const entry of batch) {
      if (entry.rewrite) {
        this.collections.replace(entry.records);
        continue;
      }
      this.collections.apply(entry.records);
      this.#reservations.release(entry.records);
    }
  }

  /** Runs between batches, so the state is still while the snapshot is written. */
  async #compactIfDue(): Promise<void> {
    const requests = this.#compactRequests.splice(0);
    if (requests.length === 0 && this.journal.size < this.#compactAt) return;
    try {
      const compacted = await this.#compactNow();
      for (const r of requests) {
        if (compacted) r.resolve();
        else r.reject(new Error('embedded store: compaction failed (see the log)'));
      }
    } catch (err) {
      for (const r of requests) r.reject(err);
      throw err;
    }
  }

  /** Compacts now; false when it failed harmlessly (logged, retried later), a throw when fatal. */
  async #compactNow(): Promise<boolean> {
    const { dir, logger } = this.settings;
    let snapshotBytes: number;
    try {
      snapshotBytes = await compact(dir, this.generation, this.collections);
    } catch (err) {
      if (err instanceof CompactionFatalError) throw err;
      logger?.error({ err, dir }, 'embedded store: compaction failed; will retry after more writes');
      this.#compactAt = this.journal.size + this.settings.compactThresholdBytes;
      return false;
    }
    const old = { journal: this.journal, generation: this.generation };
    this.generation++;
    // A throw from here on is fatal (the committer stops): the new generation is already in use.
    this.journal = await JournalFile.open(journalPath(dir, this.generation));
    this.#compactAt = this.#nextCompaction(snapshotBytes);
    await old.journal.close().catch((err) => logger?.warn({ err, dir }, 'embedded store: could not close old journal'));
    await removeGeneration(dir, old.generation).catch((err) => logger?.warn({ err, dir }, 'embedded store: could not delete old generation'));
    logger?.info({ dir, generation: this.generation, snapshotBytes }, 'embedded store: compacted');
    return true;
  }

  /**
   * Compact once the journal is as large as the threshold or the last snapshot, whichever
   * is larger: rewriting a big snapshot for every few MB of journal would multiply writes.
   */
  #nextCompaction(snapshotBytes: number): number {
    return Math.max(this.settings.compactThresholdBytes, snapshotBytes);
  }

  #unavailable(cause: unknown): StoreUnavailableError {
    if (!this.#failureLogged) {
      this.#failureLogged = true;
      this.settings.logger?.error({ err: cause, dir: this.settings.dir }, 'embedded store: stopped after a write failure');
    }
    return new StoreUnavailableError('Embedded store stopped after a journal write failure; restart to recover', { cause });
  }
}
