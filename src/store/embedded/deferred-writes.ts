import type { Database, Statement } from 'better-sqlite3';
import { VersionConflictError, type Filter, type StoredRecord, type WriteOp } from '../port.js';
import type { RecordWriter } from './commit.js';
import { pinnedTypes } from './pinned-types.js';
import { joinedColumns, recordColumns, type RecordColumns } from './record-format.js';

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
 * a read's commit is ONE row appended to `deferred` (its own transaction, made durable by the
 * store's WAL fsync before the commit resolves, like any commit), and the rows of a few hundred
 * events are later written in one transaction, where they share their pages: ~0.1 ms now plus
 * ~0.2 ms later. Being rows of the same database, deferred creates and ordinary commits are ordered
 * by the one WAL: no crash can keep a later commit and lose an earlier deferred one. A write's
 * own AuditEvent waits the same way, inserted in the write's transaction (`commitAndDefer`).
 *
 * Nothing reads a deferred record where it waits: a query that may match one (its filter does
 * not pin other types), and any write that could touch one (anything but another deferred
 * create), first moves every pending row (`drain`), so the store answers exactly as if each create
 * had been committed in full. Rows left by a crash are moved when the store opens, whatever the
 * opener's settings (the CLIs too).
 */
export class DeferredWrites {
  readonly #types: ReadonlySet<string>;
  readonly #insertRow: Statement;
  readonly #deleteUpTo: Statement;
  readonly #batch: number;
  readonly #delayMs: number;
  /**
   * The pending records in `seq` order, mirroring the `deferred` table: their identity and their
   * `versions` columns as text (record-format.ts). Text, not the records: a thousand records of
   * ~200 objects each, alive for a second, would be promoted to the old generation and traced by
   * every major GC; a string is one object. When moved, only the index is parsed (for its
   * search-value rows), not the resource (issue 14), and the columns are stored as they are.
   */
  #pending: Pending[] = [];
  /** The commit each pending record was part of (`versions.txn`), when it was written with other writes (`commitAndDefer`). */
  #pendingTxns: Array<number | undefined> = [];
  readonly #pendingKeys = new Set<string>();
  readonly #pendingTypes = new Set<string>();
  #lastSeq = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly writer: RecordWriter,
    private readonly settings: DeferredSettings,
  ) {
    this.#types = new Set(settings.types);
    this.#batch = settings.batch ?? 250;
    this.#delayMs = settings.delayMs ?? 1000;
    this.#insertRow = db.prepare('INSERT INTO deferred (type, id, record) VALUES (?, ?, ?)');
    this.#deleteUpTo = db.prepare('DELETE FROM deferred WHERE seq <= ?');
    // What a crash left (or a closed store could not move): pending again, moved by the first drain.
    for (const row of db.prepare('SELECT seq, record FROM deferred ORDER BY seq').iterate() as IterableIterator<{ seq: number; record: string }>) {
      this.#add(pendingOf(JSON.parse(row.record) as StoredRecord));
      this.#lastSeq = row.seq;
    }
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
    let inserted: { pending: Pending[]; lastSeq: number } | undefined;
    const txn = this.writer.commit(now, { also: () => (inserted = this.#insert(later)) });
    // Moved later, the events keep the number of this commit: `versions.txn` still groups a write with its record.
    this.#added(later, inserted!, txn);
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
    this.#added(writes, this.db.transaction(() => this.#insert(writes))());
  }

  /** Inserts the pending rows (in the caller's transaction), conflicts checked first. */
  #insert(writes: readonly WriteOp[]): { pending: Pending[]; lastSeq: number } {
    const keys = new Set<string>();
    for (const { record } of writes) {
      const key = keyOf(record);
      const actual = keys.has(key) || this.#pendingKeys.has(key) ? 1 : this.writer.versionOf(record.resourceType, record.id);
      if (actual !== 0) throw new VersionConflictError(record.resourceType, record.id, 0, actual);
      keys.add(key);
    }
    const pending = writes.map(({ record }) => pendingOf(record));
    let lastSeq = this.#lastSeq;
    writes.forEach(({ record }, i) => (lastSeq = Number(this.#insertRow.run(record.resourceType, record.id, joinedColumns(pending[i].columns)).lastInsertRowid)));
    return { pending, lastSeq };
  }

  /** Pending now: their transaction has committed. */
  #added(writes: readonly WriteOp[], { pending, lastSeq }: { pending: Pending[]; lastSeq: number }, txn?: number): void {
    for (const p of pending) this.#add(p, txn);
    this.#lastSeq = lastSeq;
    this.#schedule();
  }

  /** Moves every pending record into the record tables and out of `deferred`, in one transaction. */
  drain(): void {
    this.#cancel();
    if (this.#pending.length === 0) return;
    const lastSeq = this.#lastSeq;
    this.writer.commit(
      this.#pending.map(({ resourceType, id, versionId, lastUpdated, columns }) => {
        // What the writer reads of a record given its columns: identity, and the index for its rows.
        const record: StoredRecord = { resourceType, id, versionId, lastUpdated, deleted: false, ...(columns.idx === null ? {} : { index: JSON.parse(columns.idx) as Record<string, unknown> }) };
        return { record, expectedVersion: 0 };
      }),
      { also: () => this.#deleteUpTo.run(lastSeq), columns: this.#pending.map((p) => p.columns), txns: this.#pendingTxns },
    );
    this.#pending = [];
    this.#pendingTxns = [];
    this.#pendingKeys.clear();
    this.#pendingTypes.clear();
  }

  /** Stops the timer (the store is closing). */
  dispose(): void {
    this.#cancel();
  }

  #add(pending: Pending, txn?: number): void {
    this.#pending.push(pending);
    this.#pendingTxns.push(txn);
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

/** A pending create: its identity, and its `versions` columns (record-format.ts). Never a deletion (`#deferrable`). */
interface Pending {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  columns: RecordColumns;
}

function pendingOf(record: StoredRecord): Pending {
  const { resourceType, id, versionId, lastUpdated } = record;
  return { resourceType, id, versionId, lastUpdated, columns: recordColumns(record) };
}
