import type { CollectionName, Filter, Sort } from '../port.js';
import { WALK_LIMIT } from './bounded-walk.js';
import type { PathIds } from './path-ids.js';
import { pinnedTypes } from './pinned-types.js';
import { sqlValue, type SqlValue } from './search-values.js';
import type { SqlCondition, SqlParam } from './sql-filter.js';
import { orderBy } from './sql-order.js';
import type { GenerationMemo } from './generation-memo.js';
import type { SinglePaths } from './single-paths.js';
import type { StatementCache } from './statement-cache.js';
import type { LackingTypes } from './unindexed.js';
import { valueBound } from './value-bound.js';

/**
 * A page sorted by a search value, read in that order from the value index (issue 13: "sorting
 * uses indexes"). `Patient?_sort=family` or `Appointment?_sort=-date` with nothing else narrowing
 * them sorted every record of the type by a lookup of its value each (`orderBy`): 87 ms a page at
 * 20k patients, ~5x that at 100k. The rows of one path of one type are keyed `(pid, value, rid)`
 * (schema.ts), which is the sort order itself: the walk reads at most WALK_LIMIT of them in order,
 * joins each to its current record, applies the whole condition and keeps the page, sorted by the
 * value and then by the sort's further keys (on the rows read). A resource is met first at its smallest
 * value ascending (largest descending): MongoDB's rule for arrays; one met twice on a page (several
 * values, never a sort key's) is left to the usual plan.
 *
 * The page is the answer only when no match the walk did not read could come before its last entry:
 * - the walk read past the page's last value (a resource it did not read has a later value), or
 *   read every row of the path;
 * - a resource without a value sorts first ascending (last descending), so an ascending page, and a
 *   descending one that is not full, also need every current record of the type to have a row of
 *   the path (`pathFacts`), unless the filter matches none without a value (a keyset position:
 *   value-bound.ts, which also starts the walk at that position).
 * Otherwise the usual plan answers (query.ts), as it did before.
 */

/** A sort a walk can answer: one search-value path first, then any keys (`id`, `lastUpdated`, other search values). */
export interface SortWalk {
  sql: string;
  /** The value of the last row a walk reads (none: the path has fewer rows than that). */
  edge: string;
  params: SqlParam[];
  edgeParams: SqlParam[];
  pid: number;
  /** The one type the filter pins, whose records the walk reads. */
  type: string;
  direction: 1 | -1;
  /** Whether a record without a value at the path can match (valueBound): it sorts first ascending, last descending. */
  missing: boolean;
}

/** A row of the walk's query. */
interface WalkRow {
  vid: number;
  k: SqlValue;
}

/** The walk's query, or undefined when the find is not one it answers. */
export function sortWalk(
  collection: CollectionName,
  filter: Filter,
  sort: Sort | undefined,
  where: SqlCondition,
  pathIds: PathIds,
  lacking: LackingTypes,
  limit: number,
  facts: (type: string, pid: number) => RowFacts,
): SortWalk | undefined {
  if (collection !== 'current' || !sort || limit >= WALK_LIMIT || !where.exact) return undefined;
  const types = pinnedTypes(filter);
  if (types?.size !== 1) return undefined;
  const [type] = types;
  const [[path, direction], ...rest] = Object.entries(sort);
  if (!path.startsWith('index.') || lacking(path).length > 0) return undefined;
  // The keys after the first order the ties of its values, on the rows read only: record columns, or search values as `orderBy` sorts them.
  const then = orderBy(Object.fromEntries(rest) as Sort, pathIds, lacking, 'current', 'r');
  if (then === undefined) return undefined;
  const pids = pathIds(path);
  if (pids.length !== 1) return undefined;
  const { bound, rows, missing } = valueBound(filter, path, direction !== -1);
  if (!rows) return undefined; // only records without a value can match
  const dir = direction === -1 ? 'DESC' : 'ASC';
  // From the keyset position on (or the filter's bound), as the rows are keyed; only where each
  // resource has one row of the path: one with a value before the bound and one after sorts by the
  // first, which a walk from the bound would not read.
  const start = bound === undefined || !facts(type, pids[0]).single ? undefined : sqlValue(bound);
  const from = start === undefined ? [] : [start];
  const rowsOf = `search_values WHERE pid = ?${from.length ? ` AND value ${direction === -1 ? '<=' : '>='} ?` : ''} ORDER BY value ${dir}`;
  // Not materialized: SQLite reads the rows in their order and stops once the page (and the ties of its last value) is sorted.
  const walk = `(SELECT rid, value FROM ${rowsOf} LIMIT ${WALK_LIMIT})`;
  const order = [`w.value ${dir}`, ...(then ? [then.slice('ORDER BY '.length)] : [])].join(', ');
  // Each row's record by its number: without statistics (a new database) SQLite would rather search `current` by type for every row.
  const sql = `SELECT r.vid AS vid, w.value AS k FROM ${walk} w CROSS JOIN current r INDEXED BY current_by_rid_match ON r.rid = w.rid WHERE ${where.sql} ORDER BY ${order} LIMIT ${limit}`;
  const edge = `SELECT value FROM ${rowsOf} LIMIT 1 OFFSET ${WALK_LIMIT - 1}`;
  const walkParams = [pids[0], ...from];
  return { sql, edge, params: [...walkParams, ...where.params], edgeParams: walkParams, pid: pids[0], type, direction: direction === -1 ? -1 : 1, missing };
}

/** Records of a type past which a path's rows are not counted per write (two index counts: ~30 ms each at 1M). */
export const COUNTED_LIMIT = 1_000_000;

/** What the rows of one path of one type are (`pathFacts`). */
export interface RowFacts {
  /** Every current record of the type has a row of the path: none sorts as missing. */
  complete: boolean;
  /** No record has more than one row of the path (a sort key's): a walk may start at a bound. */
  single: boolean;
}

const UNKNOWN: RowFacts = { complete: false, single: false };

/**
 * `RowFacts` by counting: the type's records and the path's rows, which, for a path no resource
 * holds twice (`SinglePaths`), are its resources (rows of deleted resources stay, a deletion keeping
 * its values, so they count on both sides); else the distinct resources of its rows. Kept until a
 * write of the type (`GenerationMemo`). Past COUNTED_LIMIT records not counted: unknown, so not
 * walked where they matter.
 */
export function pathFacts(statements: StatementCache, memo: GenerationMemo, singles: SinglePaths, type: string, pid: number): RowFacts {
  return memo.get(type, `facts:${pid}`, () => {
    const records = statements.get('SELECT count(*) FROM current WHERE type = ?').pluck().get(type) as number;
    if (records > COUNTED_LIMIT) return UNKNOWN;
    const single = singles.single(statements, pid);
    const rows = single ? (statements.get('SELECT count(*) FROM search_values WHERE pid = ?').pluck().get(pid) as number) : undefined;
    const resources = rows ?? (statements.get('SELECT count(DISTINCT rid) FROM search_values WHERE pid = ?').pluck().get(pid) as number);
    return { complete: resources === records, single };
  });
}

/**
 * Runs the walk: the page's version ids when they are the answer (see above), else undefined.
 * `facts`: asked only when the answer depends on them.
 */
export function walkPage(statements: StatementCache, walk: SortWalk, limit: number, facts: (type: string, pid: number) => RowFacts): number[] | undefined {
  const rows = statements.get(walk.sql).all(...walk.params) as WalkRow[];
  const vids = rows.map((row) => row.vid);
  // A resource with several values of the path (never a sort key's) would be a row per value: not a page.
  if (new Set(vids).size !== vids.length) return undefined;
  const edge = statements.get(walk.edge).pluck().get(...walk.edgeParams) as SqlValue | undefined;
  const none = (): boolean => !walk.missing || facts(walk.type, walk.pid).complete;
  if (rows.length === limit) {
    // Every row read, or past the page's last value: nothing unread sorts before it.
    const past = edge === undefined || !sameValue(rows[rows.length - 1].k, edge);
    return past && (walk.direction === -1 || none()) ? vids : undefined;
  }
  // Fewer than a page: the answer if the walk read every row and no match lacks the value.
  return edge === undefined && none() ? vids : undefined;
}

function sameValue(a: SqlValue, b: SqlValue): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
}
