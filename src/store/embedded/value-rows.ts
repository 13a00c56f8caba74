import type { Database, Statement } from 'better-sqlite3';
import type { SqlValue } from './search-values.js';
import type { SinglePaths } from './single-paths.js';

/** A search-value row by path id: what the value tables (schema.ts) hold for one resource. */
export interface ValueRow {
  pid: number;
  value: SqlValue;
}

/**
 * The value tables of resources (schema.ts): `search_values` mirrors the `index` of each
 * resource's current version, `ended_values` keeps what its earlier versions had besides.
 *
 * A new version rewrites only what changed (issue 17): a slot turned busy, a prescription whose
 * dispensed total grew, change one or two of their 13-20 values, and writing all of them again
 * (with the previous version's deleted) was about half of what the workflow rules cost a request.
 * Every call runs inside the caller's transaction.
 */
export class ValueRows {
  readonly #rowsOf: Statement;
  readonly #insert: Statement;
  readonly #delete: Statement;
  readonly #end: Statement;
  readonly #deleteAll: Statement;
  readonly #deleteEnded: Statement;
  readonly #insertChunk: Statement;

  /** @param singles told of every resource's rows as they are written (single-paths.ts) */
  constructor(
    db: Database,
    private readonly singles?: SinglePaths,
  ) {
    // In the table's key order, as `replace` merges them (the `_by_resource` index holds them so: no sort).
    this.#rowsOf = db.prepare('SELECT pid, value FROM search_values WHERE rid = ? ORDER BY pid, value').raw();
    this.#insert = db.prepare('INSERT OR IGNORE INTO search_values (pid, value, rid) VALUES (?, ?, ?)');
    this.#delete = db.prepare('DELETE FROM search_values WHERE pid = ? AND value = ? AND rid = ?');
    this.#end = db.prepare('INSERT OR IGNORE INTO ended_values (pid, value, rid) VALUES (?, ?, ?)');
    this.#deleteAll = db.prepare('DELETE FROM search_values WHERE rid = ?');
    this.#deleteEnded = db.prepare('DELETE FROM ended_values WHERE rid = ?');
    this.#insertChunk = db.prepare(`INSERT OR IGNORE INTO search_values (pid, value, rid) VALUES ${Array.from({ length: CHUNK }, () => '(?, ?, ?)').join(', ')}`);
  }

  /**
   * The rows of resources that have none yet (the creates of a commit: a move of a few hundred
   * deferred AuditEvents, ~30-100 rows each), CHUNK rows per statement (issue 14): one statement run
   * instead of 64. In the order they come (each resource's rows together), not sorted into the
   * table's key order: sorting a move's rows (`Buffer.compare` per comparison) cost more than the
   * locality saved, on the 20k-patient data set (1.4 GB, the store's 16 MiB cache) and on a small
   * store alike: 250 events' 7,700 rows took 36-38 ms sorted, 30-31 ms as they come (medians of 10).
   */
  insertMany(creates: ReadonlyArray<{ rid: number | bigint; rows: readonly ValueRow[] }>): void {
    const params: Array<SqlValue | number | bigint> = new Array(CHUNK * 3);
    let n = 0;
    for (const { rid, rows } of creates) {
      this.singles?.note(rows);
      for (const { pid, value } of rows) {
        params[3 * n] = pid;
        params[3 * n + 1] = value;
        params[3 * n + 2] = rid;
        if (++n === CHUNK) {
          this.#insertChunk.run(params);
          n = 0;
        }
      }
    }
    for (let j = 0; j < n; j++) this.#insert.run(params[3 * j], params[3 * j + 1], params[3 * j + 2]);
  }

  /**
   * Makes a resource's rows those of its new current version: rows of values it no longer has are
   * deleted (and kept as ended, for history queries), rows of values it adds are inserted, the
   * others left alone. Both lists in key order, merged: a dispense's prescription keeps all of its
   * ~25 rows, and keying each in a Map (a string per blob) was most of what this cost (issue 17).
   */
  replace(rid: number | bigint, rows: readonly ValueRow[]): void {
    this.singles?.note(rows);
    const next = [...rows].sort(compareValueRows);
    const stored = this.#rowsOf.all(rid) as Array<[number, SqlValue]>;
    let i = 0;
    let j = 0;
    while (i < stored.length || j < next.length) {
      // A duplicate of the row before it (the table holds it once).
      if (j > 0 && j < next.length && compareValueRows(next[j - 1], next[j]) === 0) {
        j++;
        continue;
      }
      const order = i === stored.length ? 1 : j === next.length ? -1 : compareValues(stored[i][0], stored[i][1], next[j].pid, next[j].value);
      if (order === 0) {
        i++;
        j++;
      } else if (order < 0) {
        const [pid, value] = stored[i++];
        this.#delete.run(pid, value, rid);
        this.#end.run(pid, value, rid);
      } else {
        const { pid, value } = next[j++];
        this.#insert.run(pid, value, rid);
      }
    }
  }

  /** Replaces what a resource's earlier versions had besides its current values (a rewrite of its versions: key rotation). */
  resetEnded(rid: number | bigint, rows: Iterable<ValueRow>): void {
    this.#deleteEnded.run(rid);
    const live = new Set((this.#rowsOf.all(rid) as Array<[number, SqlValue]>).map(([pid, value]) => rowKey(pid, value)));
    for (const row of rows) if (!live.has(rowKey(row.pid, row.value))) this.#end.run(row.pid, row.value, rid);
  }

  /** Deletes every row of a resource (a purge). */
  purge(rid: number | bigint): void {
    this.#deleteAll.run(rid);
    this.#deleteEnded.run(rid);
  }
}

/** Rows per multi-row INSERT: 192 parameters, far below SQLite's limit (32,766). */
const CHUNK = 64;

function compareValueRows(a: ValueRow, b: ValueRow): number {
  return compareValues(a.pid, a.value, b.pid, b.value);
}

/** Order of (pid, value) as SQLite orders the key: by path id, then numbers before blobs, numbers by value, blobs by memcmp. */
function compareValues(pidA: number, x: SqlValue, pidB: number, y: SqlValue): number {
  if (pidA !== pidB) return pidA - pidB;
  if (typeof x === 'number') return typeof y === 'number' ? x - y : -1;
  if (typeof y === 'number') return 1;
  return Buffer.compare(x, y);
}

/** A row's identity within a resource: numbers and strings (blobs) never share a key. */
function rowKey(pid: number, value: SqlValue): string {
  return typeof value === 'number' ? `${pid}n${value}` : `${pid}b${value.toString('latin1')}`;
}
