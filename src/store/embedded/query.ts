import { Query } from 'mingo';
import type { CollectionName, Filter, FindOptions, StoredRecord } from '../port.js';
import { sortRecords } from './sort.js';
import { translateFilter, type PathIds, type SqlCondition } from './sql-filter.js';
import { orderBy } from './sql-order.js';
import type { StatementCache } from './statement-cache.js';

/**
 * Query evaluation: the filter becomes SQL over the record tables and the search-value index
 * (sql-filter.ts), the sort an `ORDER BY` where it can, and whatever the SQL could not decide
 * exactly is re-checked with mingo on the rows it returns, so both adapters answer the same
 * documents the same way. Rows stream from SQLite: a sorted, limited query stops reading as soon
 * as the page is full.
 */

const FROM: Record<CollectionName, string> = {
  current: 'FROM current r JOIN versions v ON v.vid = r.vid',
  history: 'FROM versions r',
};
const RECORD: Record<CollectionName, string> = { current: 'v.record', history: 'r.record' };

export interface QueryContext {
  statements: StatementCache;
  pathIds: PathIds;
}

/** Records matching the filter, sorted and limited; fresh objects the caller owns. */
export function findRecords(ctx: QueryContext, collection: CollectionName, filter: Filter, options: FindOptions = {}): StoredRecord[] {
  const limit = options.limit ? Math.abs(options.limit) : Infinity; // MongoDB: 0 means no limit
  const sort = options.sort && Object.keys(options.sort).length ? options.sort : undefined;
  const where = translateFilter(filter, ctx.pathIds);
  const order = sort ? orderBy(sort, ctx.pathIds) : '';
  const ordered = order !== undefined;
  const sql = `SELECT ${RECORD[collection]} AS record ${FROM[collection]} WHERE ${where.sql} ${order ?? ''}${ordered && where.exact && limit !== Infinity ? ` LIMIT ${limit}` : ''}`;
  const matches: StoredRecord[] = [];
  for (const record of matching(ctx, sql, where, filter)) {
    matches.push(record);
    if (ordered && matches.length >= limit) break;
  }
  if (ordered) return matches;
  const sorted = sortRecords(matches, sort!);
  return sorted.length > limit ? sorted.slice(0, limit) : sorted;
}

/** Number of records matching the filter: in SQL when the translation is exact. */
export function countRecords(ctx: QueryContext, collection: CollectionName, filter: Filter): number {
  const where = translateFilter(filter, ctx.pathIds);
  if (where.exact) {
    const from = collection === 'current' ? 'FROM current r' : FROM.history;
    return (ctx.statements.get(`SELECT count(*) AS n ${from} WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
  }
  let count = 0;
  for (const _ of matching(ctx, `SELECT ${RECORD[collection]} AS record ${FROM[collection]} WHERE ${where.sql}`, where, filter)) count++;
  return count;
}

function* matching(ctx: QueryContext, sql: string, where: SqlCondition, filter: Filter): Iterable<StoredRecord> {
  // `$where` and friends run arbitrary JavaScript; filters are data, never code.
  const recheck = where.exact ? undefined : new Query(filter, { scriptEnabled: false });
  const rows = ctx.statements.get(sql).pluck().iterate(...where.params) as IterableIterator<string>;
  for (const json of rows) {
    const record = JSON.parse(json) as StoredRecord;
    if (!recheck || recheck.test(record as unknown as Record<string, unknown>)) yield record;
  }
}
