import type { Database, Statement } from 'better-sqlite3';
import { VersionConflictError, type ResourceKey, type StoredRecord, type WriteOp } from '../port.js';
import type { PathCatalog } from './path-ids.js';
import { parseRecord, recordColumns, type RecordColumns } from './record-format.js';
import { searchValueRows, type SearchValueRow } from './search-values.js';
import type { SinglePaths } from './single-paths.js';
import type { UnindexedKeys } from './unindexed.js';
import { ValueRows, type ValueRow } from './value-rows.js';

/**
 * The write side of the SQLite store: version-checked commits and in-place rewrites, each one
 * SQLite transaction, so a commit is all or nothing and no reader ever sees part of it.
 */
export class RecordWriter {
  readonly #currentRow: Statement;
  readonly #currentVersion: Statement;
  readonly #insertVersion: Statement;
  readonly #upsertCurrent: Statement;
  readonly #updateCurrent: Statement;
  readonly #values: ValueRows;
  readonly #findVersion: Statement;
  readonly #earlierVersions: Statement;
  readonly #updateVersion: Statement;
  readonly #deleteVersions: Statement;
  readonly #deleteCurrent: Statement;
  /** The last commit number used. */
  #txn: number;

  /**
   * @param paths the path ids of the value rows (path-ids.ts), shared with the query side
   * @param unindexed keys of `index` written without search-value rows, by resource type (unindexed.ts)
   * @param singles told of the rows every resource gets (single-paths.ts)
   */
  constructor(
    private readonly db: Database,
    private readonly paths: PathCatalog,
    unindexed: UnindexedKeys = {},
    singles?: SinglePaths,
  ) {
    this.#skip = new Map(Object.entries(unindexed).map(([type, keys]) => [type, new Set(keys)]));
    this.#currentRow = db.prepare('SELECT version, vid, rid, deleted FROM current WHERE type = ? AND id = ?');
    this.#currentVersion = db.prepare('SELECT version FROM current WHERE type = ? AND id = ?').pluck();
    this.#insertVersion = db.prepare('INSERT INTO versions (type, id, version, last_updated, deleted, txn, record, idx) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.#upsertCurrent = db.prepare(
      'INSERT INTO current (type, id, version, last_updated, deleted, vid, rid) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (type, id) DO UPDATE SET version = excluded.version, last_updated = excluded.last_updated, deleted = excluded.deleted, vid = excluded.vid',
    );
    // A new version that neither deletes nor restores leaves `deleted` alone, and with it the one index of `current` keyed by nothing else that changes (current_by_deleted_id, schema.ts).
    this.#updateCurrent = db.prepare('UPDATE current SET version = ?, last_updated = ?, vid = ? WHERE type = ? AND id = ?');
    this.#values = new ValueRows(db, singles);
    this.#findVersion = db.prepare('SELECT vid, last_updated AS lastUpdated, deleted FROM versions WHERE type = ? AND id = ? AND version = ?');
    this.#earlierVersions = db.prepare('SELECT record, idx FROM versions WHERE type = ? AND id = ? AND vid <> ?');
    this.#updateVersion = db.prepare('UPDATE versions SET record = ?, idx = ? WHERE vid = ?');
    this.#deleteVersions = db.prepare('DELETE FROM versions WHERE type = ? AND id = ?');
    this.#deleteCurrent = db.prepare('DELETE FROM current WHERE type = ? AND id = ?');
    // The last row's commit, unless a move of deferred rows by schema 5 (which kept the number of the commit they were part of) wrote them after it.
    const last = (db.prepare('SELECT txn FROM versions ORDER BY vid DESC LIMIT 1').pluck().get() as number | undefined) ?? 0;
    this.#txn = Math.max(last, (db.prepare(`SELECT value FROM meta WHERE key = '${TXN_META}'`).pluck().get() as number | undefined) ?? 0);
  }

  /** The current version of a resource (0: none, or never written). */
  versionOf(resourceType: string, id: string): number {
    // Asked for every deferred create (every read's AuditEvent): one column, no row object.
    return (this.#currentVersion.get(resourceType, id) as number | undefined) ?? 0;
  }

  /**
   * Applies the writes in one transaction, checking each expectedVersion against the current
   * version as left by the writes before it. Throws VersionConflictError having stored nothing.
   * @param also more work for the same transaction, run after the writes, given their commit number (deferred-writes.ts)
   * @returns the commit number of the writes (`versions.txn`)
   */
  commit(writes: readonly WriteOp[], also?: (txn: number) => void): number {
    // Rows of a write that keeps its current version's values (`sameSearchValues`) are neither computed nor compared.
    const rows = writes.map((w) => (w.sameSearchValues && w.expectedVersion > 0 ? [] : this.#rowsOf(w.record)));
    this.#registerPaths(writes.map((w) => w.record.resourceType), rows);
    const txn = this.#txn + 1;
    this.db.transaction(() => {
      const created: Array<{ rid: number | bigint; rows: ValueRow[] }> = [];
      writes.forEach(({ record, expectedVersion, sameSearchValues }, i) => {
        const current = this.#currentRow.get(record.resourceType, record.id) as CurrentRow | undefined;
        const actual = current?.version ?? 0;
        if (actual !== expectedVersion) throw new VersionConflictError(record.resourceType, record.id, expectedVersion, actual);
        const vid = this.insertVersion(record, recordColumns(record), txn);
        // A resource is numbered by its first version for good (schema.ts `rid`); its value rows follow its current version.
        const deleted = record.deleted ? 1 : 0;
        if (current?.deleted === deleted) this.#updateCurrent.run(record.versionId, record.lastUpdated, vid, record.resourceType, record.id);
        else this.#upsertCurrent.run(record.resourceType, record.id, record.versionId, record.lastUpdated, deleted, vid, current?.rid ?? vid);
        if (current) {
          if (sameSearchValues) return;
          // A resource created earlier in this commit has its rows before it is replaced.
          this.#values.insertMany(created.splice(0));
          this.#values.replace(current.rid, this.#byPid(record.resourceType, rows[i]));
        } else created.push({ rid: vid, rows: this.#byPid(record.resourceType, rows[i]) });
      });
      this.#values.insertMany(created);
      also?.(txn);
    })();
    this.#txn = txn;
    return txn;
  }

  /**
   * Inserts a version's row, nothing else (in the caller's transaction): the whole of a deferred
   * create's commit (deferred-writes.ts), its `current` and value rows written later by `place`.
   * @returns its `vid`
   */
  insertVersion(record: StoredRecord, columns: RecordColumns, txn: number): number {
    const { resourceType, id, versionId, lastUpdated, deleted } = record;
    return Number(this.#insertVersion.run(resourceType, id, versionId, lastUpdated, deleted ? 1 : 0, txn, columns.record, columns.idx).lastInsertRowid);
  }

  /**
   * Makes creates whose versions are stored already (`insertVersion`) current, with their value
   * rows, in one transaction: a move of deferred creates. Each must not exist yet (deferred-writes.ts
   * checked it when it was appended, and moves pending rows before anything else writes their type).
   * @param also more work for the same transaction (removing the moved rows from `deferred`)
   */
  place(creates: ReadonlyArray<{ resourceType: string; id: string; versionId: number; lastUpdated: string; vid: number; index: Record<string, unknown> | undefined }>, also: () => void): void {
    const rows = creates.map((c) => this.#rowsOf({ ...c, deleted: false }));
    this.#registerPaths(creates.map((c) => c.resourceType), rows);
    this.db.transaction(() => {
      const created = creates.map(({ resourceType, id, versionId, lastUpdated, vid }, i) => {
        this.#upsertCurrent.run(resourceType, id, versionId, lastUpdated, 0, vid, vid);
        return { rid: vid, rows: this.#byPid(resourceType, rows[i]) };
      });
      this.#values.insertMany(created);
      also();
    })();
  }

  /**
   * Replaces the stored form of existing versions (StorePort.rewrite): identity fields kept,
   * search values replaced, versions that do not exist skipped. Each resource rewritten gets its
   * `ended_values` anew from its earlier versions as they now are, so values of a retired key (the
   * blind index under key rotation) do not linger there.
   */
  rewrite(records: readonly StoredRecord[]): void {
    const rows = records.map((r) => this.#rowsOf(r));
    this.#registerPaths(records.map((r) => r.resourceType), rows);
    this.db.transaction(() => {
      const rewritten = new Map<number, { type: string; id: string; vid: number }>();
      records.forEach((record, i) => {
        const existing = this.#findVersion.get(record.resourceType, record.id, record.versionId) as { vid: number; lastUpdated: string; deleted: number } | undefined;
        if (!existing) return;
        const columns = recordColumns({ ...record, lastUpdated: existing.lastUpdated, deleted: existing.deleted === 1 });
        this.#updateVersion.run(columns.record, columns.idx, existing.vid);
        const current = this.#currentRow.get(record.resourceType, record.id) as CurrentRow;
        if (current.vid === existing.vid) this.#values.replace(current.rid, this.#byPid(record.resourceType, rows[i]));
        rewritten.set(current.rid, { type: record.resourceType, id: record.id, vid: current.vid });
      });
      for (const [rid, { type, id, vid }] of rewritten) this.#values.resetEnded(rid, this.#earlierRows(type, id, vid));
    })();
  }

  /** Deletes resources for good, every version and value row, in one transaction (StorePort.purge). */
  purge(records: ReadonlyArray<ResourceKey>): void {
    this.db.transaction(() => {
      for (const { resourceType, id } of records) {
        const current = this.#currentRow.get(resourceType, id) as CurrentRow | undefined;
        if (current) this.#values.purge(current.rid);
        this.#deleteVersions.run(resourceType, id);
        this.#deleteCurrent.run(resourceType, id);
      }
    })();
  }

  /** The value rows of every version of a resource but its current one (`vid`). */
  *#earlierRows(type: string, id: string, vid: number): Iterable<ValueRow> {
    for (const row of this.#earlierVersions.all(type, id, vid) as Array<{ record: string; idx: string | null }>) yield* this.#byPid(type, this.#rowsOf(parseRecord(row.record, row.idx)));
  }

  // As sets: every AuditEvent (one per request) is filtered through its type's keys.
  readonly #skip: ReadonlyMap<string, ReadonlySet<string>>;

  #rowsOf(record: StoredRecord): SearchValueRow[] {
    const skip = this.#skip.get(record.resourceType);
    if (!skip || !record.index) return searchValueRows(record.index);
    return searchValueRows(Object.fromEntries(Object.entries(record.index).filter(([key]) => !skip.has(key))));
  }

  /**
   * A resource's rows with their paths as its type's ids. A path without one (possible only for a
   * stored version) is left out: no query can ask for it, since translation answers "no match" on
   * a path no record of the type has.
   */
  #byPid(type: string, rows: readonly SearchValueRow[]): ValueRow[] {
    const out: ValueRow[] = [];
    for (const { path, value } of rows) {
      const pid = this.paths.get(type, path);
      if (pid !== undefined) out.push({ pid, value });
    }
    return out;
  }

  /** Ids for the paths of these records' rows (types[i]: the type of rows[i]) that have none yet (PathCatalog.register). */
  #registerPaths(types: readonly string[], rows: ReadonlyArray<readonly SearchValueRow[]>): void {
    this.paths.register(rows.map((list, i) => ({ type: types[i], rows: list })));
  }
}

/** A resource's row of `current`, as the writer reads it. */
interface CurrentRow {
  version: number;
  vid: number;
  rid: number;
  deleted: number;
}

/** The `meta` key of the last commit number, written by schema 5 when a move of deferred rows may have hidden it. */
const TXN_META = 'txn';
