import type { CollectionName, Filter, Sort } from '../port.js';
import { pinnedTypes } from './pinned-types.js';
import type { SqlCondition, SqlParam } from './sql-filter.js';

/**
 * Rows of `current` a bounded walk reads in sort order before giving up on filling a page
 * (`boundedWalk`): ~2-4 ms of index probes on the 20k-patient data set.
 */
export const WALK_LIMIT = 2000;

/** Sort fields whose order an index of `current` gives (within one type): a walk reads it in that order. */
const WALKABLE = new Set(['id', 'lastUpdated']);

/**
 * A page's query reading at most WALK_LIMIT rows of `current` in sort order, for a page no driver
 * narrows below DRIVER_LIMIT (issue 13). Walking the whole type in sort order stops at the page
 * when matches are spread through it (`Patient?gender=male`: ~40 rows), but reads nearly all of it
 * when they cluster: `AuditEvent?patient=X` with thousands of events naming X, all recent, read
 * every older event first (200 ms at 90k events, seconds at millions). If the bounded walk fills
 * the page, those are the page (any earlier match would have been among the rows it read);
 * otherwise the smallest driver answers, however large (`findSql` with `allMatches`). Undefined
 * unless the rows' order is an index's: one type, sorted by record columns an index holds.
 */
export function boundedWalk(collection: CollectionName, filter: Filter, sort: Sort | undefined, where: SqlCondition, order: string, limit: number): { sql: string; params: SqlParam[] } | undefined {
  // A page as long as the walk could never be filled by it.
  if (collection !== 'current' || !sort || limit >= WALK_LIMIT || pinnedTypes(filter)?.size !== 1) return undefined;
  // Conditions on the record's columns (type, deleted, a keyset's position) bound the walk; those on search values filter what it read.
  const conjuncts = where.conjuncts ?? [where];
  const onColumns = conjuncts.filter((c) => c.onColumns);
  const onValues = conjuncts.filter((c) => !c.onColumns);
  if (onValues.length === 0) return undefined;
  const rows = `SELECT * FROM current r WHERE ${onColumns.length ? onColumns.map((c) => c.sql).join(' AND ') : '1'} ${order} LIMIT ${WALK_LIMIT}`;
  const sql = `SELECT r.vid AS vid FROM (${rows}) r WHERE ${onValues.map((c) => c.sql).join(' AND ')} ${order} LIMIT ${limit}`;
  return { sql, params: [...onColumns.flatMap((c) => c.params), ...onValues.flatMap((c) => c.params)] };
}

/** True when an index of `current` holds the order (an unsorted find walks `vid` order). */
export function walkable(sort: Sort | undefined): boolean {
  return sort === undefined || Object.keys(sort).every((field) => WALKABLE.has(field));
}
