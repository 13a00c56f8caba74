import type { Database, Statement } from 'better-sqlite3';
import { VersionConflictError, type Filter, type StoredRecord, type WriteOp } from '../port.js';
import type { RecordWriter } from './commit.js';
import { pinnedTypes } from './pinned-types.js';
import { recordColumns } from './record-format.js';

/** Settings of the deferred writes of an open store. */
export interface DeferredSettings {
  /** Resource types whose plain creates are deferred (the store's `deferredTypes` option). */
  types: readonly string[];
  /** Called (outside any transaction) when the pending rows should be moved: the store runs `drain`. */
  due: () => void;
  /** Pending rows that make a move due at once (default 250: ~50 ms of work on the event loop; larger batches save little more). */
  batch?: number;
  /** Milliseconds after the first pending row that a move is due (default 1000). */
  delayMs?: number;
}

/**
 * Creates of the deferred types, committed cheaply now and indexed later in bulk (issue 14).
 *
 * Every read writes an AuditEvent. Committed the ordinary way, each one inserts a `versions` and a
 * `current` row and ~20 `search_values` rows, which land on ~20 different pages of the value index:
 * one SQLite transaction per read writes them all to the WAL, ~0.6 ms of CPU per read. Deferred,
 * a read's commit is its `versions` row and a one-number row of `deferred` (the `vid`), made
 * durable by the store's WAL fsync before the commit resolves, like any commit; the `current` and
 * value rows of a few hundred events are later written in one transaction, where they share their
 * pages. The record reaches the WAL once (schema 5 wrote it to `deferred` first, then to
 * `versions` when moved, and `secure_delete` zeroed its freed `deferred` page a third time).
 * Being rows of the same database, deferred creates and ordinary commits are ordered by the one
 * WAL: no crash can keep a later commit and lose an earlier deferred one. A write's own
 * AuditEvent waits the same way, inserted in the write's transaction (`commitAndDefer`).
 *
 * Nothing reads a deferred record before it is moved: a query that may match one (its filter does
 * not pin other types: a query pinned to a type reads only that type's versions), and any write
 * that could touch one (anything but another deferred create), first moves every pending row
 * (`drain`), so the store answers exactly as if each create had been committed in full. Rows left
 * by a crash are moved when the store opens, whatever the opener's settings (the CLIs too).
 */
export class DeferredWrites {
  readonly #types: ReadonlySet<string>;
  readonly #insertRow: Statement;
  readonly #deleteUpTo: Statement;
  readonly #batch: number;
  readonly #delayMs: number;
  /**
   * The pending records in `vid` order, mirroring the `deferred` table: their identity and their
   * index as text. Text, not objects: a thousand indexes of ~50 objects each, alive for a second,
   * would be promoted to the old generation and traced by every major GC; a string is one object.
   */
  #pending: Pending[] = [];
  readonly #pendingKeys = new Set<string>();
  readonly #pendingTypes = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly writer: RecordWriter,
    private readonly settings: DeferredSettings,
  ) {
    this.#types = new Set(settings.types);
    this.#batch = settings.batch ?? 250;
    this.#delayMs = settings.delayMs ?? 1000;
    this.#insertRow = db.prepare('INSERT INTO deferred (vid) VALUES (?)');
    this.#deleteUpTo = db.prepare('DELETE FROM deferred WHERE vid <= ?');
    // What a crash left (or a closed store could not move): pending again, moved by the first drain.
    const left = db.prepare('SELECT v.vid, v.type AS resourceType, v.id, v.version AS versionId, v.last_updated AS lastUpdated, v.idx FROM deferred d JOIN versions v ON v.vid = d.vid ORDER BY d.vid');
    for (const row of left.iterate() as IterableIterator<Pending>) this.#add(row);
  }

  /** Records waiting to be moved. */
  get size(): number {
    return this.#pending.length;
  }

  /** True when the commit can be deferred: creates (not deletes) of deferred types only. */
  accepts(writes: readonly WriteOp[]): boolean {
    if (this.#types.size === 0 || writes.length === 0) return false;
    return writes.every((write) => this.#deferrable(write));
  }

  /**
   * The writes of a commit split into those written in full now and the creates at its end that
   * can wait (the AuditEvents the chain writer appends to a write's commit): moved later, they
   * still come after the rest of their commit.
   */
  split(writes: readonly WriteOp[]): { now: WriteOp[]; later: WriteOp[] } {
    let cut = writes.length;
    while (cut > 0 && this.#deferrable(writes[cut - 1])) cut--;
    return { now: writes.slice(0, cut), later: writes.slice(cut) };
  }

  /**
   * Commits `now` in full and `later` (creates of deferred types) as pending rows, in ONE
   * transaction: a write and the AuditEvent recording it are stored together or not at all (issue
   * 14: the event's ~25 index rows are then written with a few hundred others, not in the write's
   * own commit). Throws VersionConflictError, having stored nothing, as `commit` and `append` do.
   */
  commitAndDefer(now: readonly WriteOp[], later: readonly WriteOp[]): void {
    if (later.length === 0) {
      this.writer.commit(now);
      return;
    }
    let inserted: Pending[] = [];
    // The events' versions carry the number of this commit: `versions.txn` groups a write with its record.
    this.writer.commit(now, (txn) => (inserted = this.#insert(later, txn)));
    this.#added(inserted);
  }

  #deferrable({ record, expectedVersion }: WriteOp): boolean {
    return expectedVersion === 0 && !record.deleted && this.#types.has(record.resourceType);
  }

  /** True when a write must see the pending records first: it writes a type that has some. */
  touches(writes: readonly WriteOp[]): boolean {
    return this.#pending.length > 0 && writes.some(({ record }) => this.#pendingTypes.has(record.resourceType));
  }

  /** True when a query with this filter may match a pending record. */
  concerns(filter: Filter): boolean {
    if (this.#pending.length === 0) return false;
    const pinned = pinnedTypes(filter);
    return !pinned || [...pinned].some((type) => this.#pendingTypes.has(type));
  }

  /**
   * Commits the creates as pending rows, in one transaction. Throws VersionConflictError, having
   * stored nothing, when a resource already exists (committed or pending), as `commit` would.
   */
  append(writes: readonly WriteOp[]): void {
    this.commitAndDefer([], writes);
  }

  /** Inserts the versions and the pending rows (in the caller's transaction), conflicts checked first. */
  #insert(writes: readonly WriteOp[], txn: number): Pending[] {
    const keys = new Set<string>();
    for (const { record } of writes) {
      const key = keyOf(record);
      const actual = keys.has(key) || this.#pendingKeys.has(key) ? 1 : this.writer.versionOf(record.resourceType, record.id);
      if (actual !== 0) throw new VersionConflictError(record.resourceType, record.id, 0, actual);
      keys.add(key);
    }
    return writes.map(({ record }) => {
      const { resourceType, id, versionId, lastUpdated } = record;
      const columns = recordColumns(record);
      const vid = this.writer.insertVersion(record, columns, txn);
      this.#insertRow.run(vid);
      return { vid, resourceType, id, versionId, lastUpdated, idx: columns.idx };
    });
  }

  /** Pending now: their transaction has committed. */
  #added(pending: readonly Pending[]): void {
    for (const p of pending) this.#add(p);
    this.#schedule();
  }

  /** Makes every pending record current, with its value rows, and empties `deferred`, in one transaction. */
  drain(): void {
    this.#cancel();
    if (this.#pending.length === 0) return;
    const lastVid = this.#pending[this.#pending.length - 1].vid;
    // Only the index is parsed (for the value rows); the versions are stored already.
    const creates = this.#pending.map(({ idx, ...rest }) => ({ ...rest, index: idx === null ? undefined : (JSON.parse(idx) as Record<string, unknown>) }));
    this.writer.place(creates, () => this.#deleteUpTo.run(lastVid));
    this.#pending = [];
    this.#pendingKeys.clear();
    this.#pendingTypes.clear();
  }

  /** Stops the timer (the store is closing). */
  dispose(): void {
    this.#cancel();
  }

  #add(pending: Pending): void {
    this.#pending.push(pending);
    this.#pendingKeys.add(`${pending.resourceType}/${pending.id}`);
    this.#pendingTypes.add(pending.resourceType);
  }

  #schedule(): void {
    if (this.#pending.length >= this.#batch) {
      this.#cancel();
      this.#timer = setTimeout(this.settings.due, 0).unref();
    } else {
      // unref: a process exiting without closing the store leaves the rows pending, durable, not lost.
      this.#timer ??= setTimeout(this.settings.due, this.#delayMs).unref();
    }
  }

  #cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function keyOf(record: StoredRecord): string {
  return `${record.resourceType}/${record.id}`;
}

/** A pending create: its identity, its version's row, and its index as stored (`versions.idx`). Never a deletion (`#deferrable`). */
interface Pending {
  vid: number;
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  idx: string | null;
}
