import { Query } from 'mingo';
import { groupRecords, type CollectionName, type Filter, type FindOptions, type GroupCount, type Sort, type StoredRecord } from '../port.js';
import { parseRecord } from './record-format.js';
import { recordsByVid } from './records-by-vid.js';
import { boundedWalk, walkable } from './bounded-walk.js';
import { pidIn, type PathScope, type PathScopes } from './path-ids.js';
import { everyLive, pinnedTypes } from './pinned-types.js';
import { IRREGULAR } from './search-values.js';
import { sortRecords } from './sort.js';
import { translateFilter, type Driver, type SqlCondition, type SqlParam } from './sql-filter.js';
import { COLUMNS, orderBy } from './sql-order.js';
import type { GenerationMemo } from './generation-memo.js';
import type { SinglePaths } from './single-paths.js';
import { pathFacts, sortWalk, walkPage } from './sort-walk.js';
import { DRIVER_LIMIT, driverParams, driverTable, estimate, onlyDriver, pickDriver, pickDriverOfAll } from './driver-choice.js';
import type { StatementCache } from './statement-cache.js';
import { lackingTypes, type LackingTypes, type UnindexedKeys } from './unindexed.js';

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
/** The same, starting from a driver's resource numbers `d` (CROSS JOIN fixes that order in SQLite); on `history`, every version of those resources. */
const FROM_DRIVER: Record<CollectionName, string> = {
  current: 'CROSS JOIN current r ON r.rid = d.rid JOIN versions v ON v.vid = r.vid',
  history: 'CROSS JOIN current dc ON dc.rid = d.rid CROSS JOIN versions r ON r.type = dc.type AND r.id = dc.id',
};
const COUNT_FROM: Record<CollectionName, string> = { current: 'FROM current r', history: 'FROM versions r' };
const COUNT_FROM_DRIVER: Record<CollectionName, string> = {
  current: 'CROSS JOIN current r ON r.rid = d.rid',
  history: 'CROSS JOIN current dc ON dc.rid = d.rid CROSS JOIN versions r ON r.type = dc.type AND r.id = dc.id',
};

/** The columns of a record (record-format.ts), as `record` and `idx`. */
const RECORD: Record<CollectionName, string> = { current: 'v.record AS record, v.idx AS idx', history: 'r.record AS record, r.idx AS idx' };

/**
 * The columns of the matches a counted page materializes (`findSql`): the version id and what its
 * order names, under their own names so the same order applies. Each further column is copied for
 * every match: all seven cost a third more than two (issue 13).
 */
function matchColumns(sort: Sort | undefined): string {
  const columns = new Set(['vid']);
  for (const field of Object.keys(sort ?? {})) columns.add(COLUMNS[field] ?? 'rid'); // a search-value path sorts by the resource's rows
  return [...columns].map((c) => `r.${c} AS ${c}`).join(', ');
}

/** A row of the record columns. */
interface RecordRow {
  record: string;
  idx: string | null;
}

export interface QueryContext {
  statements: StatementCache;
  /** The value tables' path ids, by the types a query may match (path-ids.ts). */
  paths: PathScopes;
  /** Keys some types keep out of `search_values` (unindexed.ts). */
  unindexed: UnindexedKeys;
  /** Figures counted per write of a type (generation-memo.ts): what the rows of a path are, for pages sorted by the value index (sort-walk.ts; none: not walked), and the type's live records. */
  counted?: GenerationMemo;
  /** Paths no resource holds two values of (single-paths.ts), which the writer keeps up to date. */
  singles?: SinglePaths;
}

/**
 * The SQL of a find: `ordered` when SQL sorts (else the caller sorts every match). `byVid`: the
 * query selects the page's version ids only, and the records are read by id afterwards.
 */
export interface FindSql {
  sql: string;
  where: SqlCondition;
  ordered: boolean;
  byVid: boolean;
  /** The query also selects `total`, the number of all matches (`findCountedRecords`). */
  counted: boolean;
  /**
   * A page no small driver narrows, in an order an index of `current` walks: the bounded walk to
   * try first (bounded-walk.ts). Where it does not fill the page, `findSql` with `allMatches`
   * answers instead, from the smallest driver whatever its size.
   */
  walk?: { sql: string; params: SqlParam[] };
}

/** The path ids of the types the filter may match. */
function scopeOf(ctx: QueryContext, filter: Filter): PathScope {
  return ctx.paths.scope(pinnedTypes(filter));
}

/** The filter as SQL; exact only while no stored version of its types has an irregular index (search-values.ts). */
function translate(ctx: QueryContext, collection: CollectionName, filter: Filter, lacking: LackingTypes): SqlCondition {
  const { pathIds, keyPathIds } = scopeOf(ctx, filter);
  const translated = translateFilter(filter, pathIds, keyPathIds, lacking, collection);
  return pathIds(IRREGULAR).length === 0 ? translated : { ...translated, exact: false };
}

/** The filter as SQL, the driver it starts from (if one is selective), and the parameters in SQL order. */
function plan(ctx: QueryContext, collection: CollectionName, filter: Filter, lacking = lackingTypes(ctx.unindexed, filter), choose = pickDriver, translated = translate(ctx, collection, filter, lacking)): { where: SqlCondition; driver?: Driver } {
  const driver = translated.sql === '0' ? undefined : choose(ctx, translated);
  if (!driver) return { where: translated };
  const rest = withoutDecided(translated, driver);
  return { where: { ...rest, params: [...driverParams(driver), ...rest.params] }, driver };
}

/**
 * The condition without the conjunct its driver decides: started from `SELECT rid FROM
 * search_values WHERE pid = … AND value …`, the query would otherwise probe the same entries again
 * for every candidate (`EXISTS (… rid = r.rid …)`), one index lookup per match: a third of the page
 * query of `Patient?family=` (issue 13).
 */
function withoutDecided(where: SqlCondition, driver: Driver): SqlCondition {
  const decided = driver.decides;
  if (decided === undefined) return where;
  if (where === decided) return { ...where, sql: '1', params: [] };
  if (!where.conjuncts?.includes(decided)) return where;
  const rest = where.conjuncts.filter((c) => c !== decided);
  return { ...where, sql: rest.length === 0 ? '1' : rest.map((c) => c.sql).join(' AND '), params: rest.flatMap((c) => c.params), conjuncts: rest };
}

/** The FROM clause: the record table, or the driver's version ids joined to it. */
function fromClause(driver: Driver | undefined, plain: string, driven: string): string {
  return driver ? `FROM ${driverTable(driver)} ${driven}` : plain;
}

/** What a find's SQL order and page depend on. */
interface FindShape {
  limit: number;
  sort: Sort | undefined;
  lacking: LackingTypes;
  /** `ORDER BY` of the rows of table `table`; undefined where SQL cannot sort (the caller sorts every match). */
  orderOf: (table: string) => string | undefined;
}

function shapeOf(ctx: QueryContext, collection: CollectionName, filter: Filter, options: FindOptions): FindShape {
  const limit = options.limit ? Math.abs(options.limit) : Infinity;
  const sort = options.sort && Object.keys(options.sort).length ? options.sort : undefined;
  const lacking = lackingTypes(ctx.unindexed, filter);
  // Unsorted finds come in commit order, MongoDB's natural order for an insert-only collection.
  const pathIds = sort ? scopeOf(ctx, filter).pathIds : undefined;
  const orderOf = (table: string): string | undefined => (pathIds ? orderBy(sort!, pathIds, lacking, collection, table) : `ORDER BY ${table}.vid`);
  return { limit, sort, lacking, orderOf };
}

/**
 * A counted page: the matches' rows, materialized once as `m`, counted by one scan and sorted by a
 * sorter that keeps only the page. A window count (`count(*) OVER ()`) would copy every match into
 * a window table and then sort them all, about half of the page query of `Patient?family=` at 266
 * matches (issue 13). The rows keep the record table's column names, for the same order.
 * `before`: common table expressions `from` reads; `also`: more selected columns.
 */
function countedPageSql({ sort, limit, orderOf }: FindShape, from: string, where: SqlCondition, before = '', also = ''): string {
  const matches = `m AS MATERIALIZED (SELECT ${matchColumns(sort)} ${from} WHERE ${where.sql})`;
  return `WITH ${before}${matches} SELECT m.vid AS vid, (SELECT count(*) FROM m) AS total${also} FROM m ${orderOf('m')} LIMIT ${limit}`;
}

/**
 * Builds the query of a find (exported for the plan tests). `withTotal`: also count every match
 * where that costs no further read (see `findCountedRecords`). `translated`: the filter's
 * translation, when the caller has it already.
 */
export function findSql(ctx: QueryContext, collection: CollectionName, filter: Filter, options: FindOptions = {}, withTotal = false, translated?: SqlCondition, allMatches = false): FindSql {
  const shape = shapeOf(ctx, collection, filter, options);
  const { limit, lacking, orderOf } = shape;
  const order = orderOf('r');
  const ordered = order !== undefined;
  // Without a limit, sorted in memory, or sorted by search values (no index holds that order), every
  // match is read: no walk in sort order can stop early.
  const readsAll = allMatches || limit === Infinity || !ordered || !walkable(shape.sort);
  const { where, driver } = plan(ctx, collection, filter, lacking, readsAll ? pickDriverOfAll : pickDriver, translated ?? translate(ctx, collection, filter, lacking));
  if (ordered && where.exact && limit !== Infinity) {
    // A page: SQLite sorts version ids, not records. Sorting `record` would copy every match's JSON
    // into the sorter (and read it from disk) to keep 20 of them: 266 matches of `Patient?family=`
    // at 100k patients cost 3x the time of 3 matches (issue 13).
    const from = fromClause(driver, COUNT_FROM[collection], COUNT_FROM_DRIVER[collection]);
    // Started from a driver, SQLite reads every match to sort them anyway: counting them there saves
    // the count query's second pass. Walking an index in sort order it stops at the page, and a
    // count in that pass would make it read every match, so the count stays a query of its own.
    const counted = withTotal && driver !== undefined;
    const walk = driver === undefined && !readsAll && where.drivers?.length ? boundedWalk(collection, filter, shape.sort, where, order, limit) : undefined;
    if (!counted) return { sql: `SELECT r.vid AS vid ${from} WHERE ${where.sql} ${order} LIMIT ${limit}`, where, ordered, byVid: true, counted, ...(walk ? { walk } : {}) };
    return { sql: countedPageSql(shape, from, where), where, ordered, byVid: true, counted };
  }
  const from = fromClause(driver, FROM[collection], FROM_DRIVER[collection]);
  const sql = `SELECT ${RECORD[collection]} ${from} WHERE ${where.sql} ${order ?? ''}`;
  return { sql, where, ordered, byVid: false, counted: false };
}

/** A resource's current record by its key: one primary-key lookup. */
const BY_KEY = 'SELECT v.record AS record, v.idx AS idx FROM current r JOIN versions v ON v.vid = r.vid WHERE r.type = ? AND r.id = ?';

/** Records matching the filter, sorted and limited; fresh objects the caller owns. */
export function findRecords(ctx: QueryContext, collection: CollectionName, filter: Filter, options: FindOptions = {}): StoredRecord[] {
  // Every read and write loads a record by its key: straight to it, not through the translation (issue 14).
  if (collection === 'current' && isKey(filter)) {
    const row = ctx.statements.get(BY_KEY).get(filter.resourceType, filter.id) as RecordRow | undefined;
    return row === undefined ? [] : [parseRecord(row.record, row.idx)];
  }
  return ctx.statements.read(() => findInSnapshot(ctx, collection, filter, options));
}

function findInSnapshot(ctx: QueryContext, collection: CollectionName, filter: Filter, options: FindOptions): StoredRecord[] {
  const { page, translated } = tentativePage(ctx, collection, filter, options, false);
  if (page) return page.records;
  const walked = sortWalkPage(ctx, collection, filter, options, translated);
  if (walked) return walked;
  return pageOf(ctx, collection, filter, options, translated, findSql(ctx, collection, filter, options, false, translated));
}

/** The records of a find its tentative page did not answer, by its query (`findSql`): the bounded walk first, where it has one. */
function pageOf(ctx: QueryContext, collection: CollectionName, filter: Filter, options: FindOptions, translated: SqlCondition | undefined, query: FindSql): StoredRecord[] {
  const limit = options.limit ? Math.abs(options.limit) : Infinity; // MongoDB: 0 means no limit
  const sort = options.sort && Object.keys(options.sort).length ? options.sort : undefined;
  let found = query;
  if (found.walk) {
    const vids = ctx.statements.get(found.walk.sql).pluck().all(...found.walk.params) as number[];
    if (vids.length >= limit) return recordsByVid(ctx.statements, vids, options.identityOnly);
    found = findSql(ctx, collection, filter, options, false, translated, true);
  }
  const { sql, where, ordered, byVid } = found;
  if (where.sql === '0') return []; // decided without reading: e.g. a value no record has
  if (byVid) return recordsByVid(ctx.statements, ctx.statements.get(sql).pluck().all(...where.params) as number[], options.identityOnly);
  const matches: StoredRecord[] = [];
  for (const record of matching(ctx, sql, where, filter)) {
    matches.push(record);
    if (ordered && matches.length >= limit) break;
  }
  if (ordered) return matches;
  const sorted = sortRecords(matches, sort!);
  return sorted.length > limit ? sorted.slice(0, limit) : sorted;
}

/**
 * `findRecords` and the number of all its matches, limit aside (StorePort.findCounted): from the
 * page query itself when it reads every match anyway, from the page when it holds them all, else
 * by `countRecords`.
 */
export function findCountedRecords(ctx: QueryContext, collection: CollectionName, filter: Filter, options: FindOptions = {}): { records: StoredRecord[]; total: number } {
  return ctx.statements.read(() => findCountedInSnapshot(ctx, collection, filter, options));
}

function findCountedInSnapshot(ctx: QueryContext, collection: CollectionName, filter: Filter, options: FindOptions): { records: StoredRecord[]; total: number } {
  const { page, translated } = tentativePage(ctx, collection, filter, options, true);
  if (page) return { records: page.records, total: page.total ?? 0 };
  const walked = sortWalkPage(ctx, collection, filter, options, translated);
  // A page short of the limit holds every match.
  if (walked) return { records: walked, total: walked.length < Math.abs(options.limit!) ? walked.length : countRecords(ctx, collection, filter) };
  const found = findSql(ctx, collection, filter, options, true, translated);
  if (found.counted) {
    const rows = ctx.statements.get(found.sql).all(...found.where.params) as Array<{ vid: number; total: number }>;
    return { records: recordsByVid(ctx.statements, rows.map((row) => row.vid), options.identityOnly), total: rows[0]?.total ?? 0 };
  }
  // Not counted, the query is the one a find without its total runs: its tentative page has just failed, so not tried again.
  const records = pageOf(ctx, collection, filter, options, translated, found);
  const limit = options.limit ? Math.abs(options.limit) : Infinity;
  return { records, total: records.length < limit ? records.length : countRecords(ctx, collection, filter) };
}

/**
 * The page query of a condition with one driver of one part, with the driver's estimate inside
 * it (exported for the plan tests): its index entries are read once, at most DRIVER_LIMIT of them,
 * and counted as `entries` beside the page. A separate estimate read the same entries
 * again, a fifth of the page query of `Patient?family=` on the 20k-patient data set (issue 13).
 * Undefined where the usual plan applies (no such driver, or not a page sorted in SQL).
 */
export function tentativeSql(ctx: QueryContext, collection: CollectionName, filter: Filter, options: FindOptions, withTotal: boolean, translated?: SqlCondition): FindSql | undefined {
  const shape = shapeOf(ctx, collection, filter, options);
  const { limit, lacking } = shape;
  if (collection !== 'current' || limit === Infinity) return undefined;
  const order = shape.orderOf('r');
  if (order === undefined) return undefined;
  const { where, driver } = plan(ctx, collection, filter, lacking, onlyDriver, translated ?? translate(ctx, collection, filter, lacking));
  if (!driver || !where.exact) return undefined;
  const [part] = driver.parts;
  const entries = `e AS MATERIALIZED (${part.sql} LIMIT ${DRIVER_LIMIT})`;
  const from = `FROM ${part.distinct ? 'e' : '(SELECT DISTINCT rid FROM e)'} d ${COUNT_FROM_DRIVER.current}`;
  const counted = `(SELECT count(*) FROM e) AS entries`;
  if (!withTotal) return { sql: `WITH ${entries} SELECT r.vid AS vid, ${counted} ${from} WHERE ${where.sql} ${order} LIMIT ${limit}`, where, ordered: true, byVid: true, counted: false };
  return { sql: countedPageSql(shape, from, where, `${entries}, `, `, ${counted}`), where, ordered: true, byVid: true, counted: true };
}

/**
 * A page by `tentativeSql`, if its driver was small after all (below DRIVER_LIMIT, as `pickDriver`
 * decides); undefined when the usual plan must answer: a walk in sort order may stop sooner.
 */
function tentativePage(ctx: QueryContext, collection: CollectionName, filter: Filter, options: FindOptions, withTotal: boolean): { page?: { records: StoredRecord[]; total?: number }; translated?: SqlCondition } {
  if (collection !== 'current' || !options.limit) return {};
  // Translated once: the usual plan reuses it (a third of the appointments page's planning, issue 13).
  const translated = translate(ctx, collection, filter, lackingTypes(ctx.unindexed, filter));
  const driver = onlyDriver(ctx, translated);
  const found = driver && tentativeSql(ctx, collection, filter, options, withTotal, translated);
  if (!found) return { translated };
  const rows = ctx.statements.get(found.sql).all(...found.where.params) as Array<{ vid: number; total?: number; entries: number }>;
  if (rows.length > 0) return rows[0].entries >= DRIVER_LIMIT ? { translated } : { page: { records: recordsByVid(ctx.statements, rows.map((row) => row.vid), options.identityOnly), total: rows[0].total } };
  // No match among the entries read: the answer, unless there were more of them.
  return estimate(ctx, driver, DRIVER_LIMIT) < DRIVER_LIMIT ? { page: { records: [], total: 0 } } : { translated };
}

/** A page sorted by a search value, read in that order from its index (sort-walk.ts), when that is the answer. */
function sortWalkPage(ctx: QueryContext, collection: CollectionName, filter: Filter, options: FindOptions, translated: SqlCondition | undefined): StoredRecord[] | undefined {
  const { counted, singles } = ctx;
  if (!counted || !singles || !translated || !options.limit) return undefined;
  const limit = Math.abs(options.limit);
  const facts = (type: string, pid: number) => pathFacts(ctx.statements, counted, singles, type, pid);
  const walk = sortWalk(collection, filter, options.sort, translated, scopeOf(ctx, filter).pathIds, lackingTypes(ctx.unindexed, filter), limit, facts);
  const vids = walk && walkPage(ctx.statements, walk, limit, facts);
  return vids && recordsByVid(ctx.statements, vids, options.identityOnly);
}

/** Number of records matching the filter: in SQL when the translation is exact. */
export function countRecords(ctx: QueryContext, collection: CollectionName, filter: Filter): number {
  return ctx.statements.read(() => countInSnapshot(ctx, collection, filter));
}

function countInSnapshot(ctx: QueryContext, collection: CollectionName, filter: Filter): number {
  // Every live record of a type (a list with nothing narrowing it, `_total` of `GET /Patient`): one index count of 100k entries (~4 ms), kept until the type is written.
  const type = collection === 'current' && ctx.counted ? everyLive(filter) : undefined;
  if (type !== undefined) return ctx.counted!.get(type, 'live', () => ctx.statements.get('SELECT count(*) FROM current WHERE type = ? AND deleted = 0').pluck().get(type) as number);
  const { where, driver } = plan(ctx, collection, filter, undefined, pickDriverOfAll);
  if (where.sql === '0') return 0;
  if (where.exact) {
    const from = fromClause(driver, COUNT_FROM[collection], COUNT_FROM_DRIVER[collection]);
    return ctx.statements.get(`SELECT count(*) AS n ${from} WHERE ${where.sql}`).pluck().get(...where.params) as number;
  }
  const from = fromClause(driver, FROM[collection], FROM_DRIVER[collection]);
  let count = 0;
  for (const _ of matching(ctx, `SELECT ${RECORD[collection]} ${from} WHERE ${where.sql}`, where, filter)) count++;
  return count;
}

/**
 * `groupCount`: the matches' values at `path` read from `search_values` and grouped in SQL when
 * the translation is exact; otherwise the matches are read and grouped in memory.
 */
export function groupCountRecords(ctx: QueryContext, collection: CollectionName, filter: Filter, path: string): GroupCount[] {
  return ctx.statements.read(() => groupCountInSnapshot(ctx, collection, filter, path));
}

function groupCountInSnapshot(ctx: QueryContext, collection: CollectionName, filter: Filter, path: string): GroupCount[] {
  const pids = scopeOf(ctx, filter).pathIds(path);
  const lacking = lackingTypes(ctx.unindexed, filter);
  const { where, driver } = plan(ctx, collection, filter, lacking, pickDriverOfAll);
  // Types keeping the path out of `search_values` have their values in the records only, as do versions that are not current.
  const inRecords = lacking(path).length > 0 || collection === 'history';
  if ((pids.length === 0 && !inRecords) || where.sql === '0') return [];
  if (!where.exact || inRecords) {
    const from = fromClause(driver, FROM[collection], FROM_DRIVER[collection]);
    return groupRecords(matching(ctx, `SELECT ${RECORD[collection]} ${from} WHERE ${where.sql}`, where, filter), path);
  }
  const from = fromClause(driver, COUNT_FROM[collection], COUNT_FROM_DRIVER[collection]);
  // CROSS JOIN: the matches first, then each one's rows of the path (by `rid`). The other order
  // reads every row of the path in the store, which SQLite's statistics can make look cheaper:
  // `_include` of a 20-result page took seconds through `index.patient.r` (issue 13).
  const sql = `SELECT g.value AS value, count(DISTINCT r.rid) AS n ${from} CROSS JOIN search_values g ON g.rid = r.rid AND ${pidIn('g.pid', pids)} WHERE ${where.sql} GROUP BY g.value`;
  const rows = ctx.statements.get(sql).all(...where.params) as Array<{ value: number | Buffer; n: number }>;
  return rows.map((row) => ({ value: typeof row.value === 'number' ? row.value : Buffer.from(row.value).swap16().toString('utf16le'), count: row.n }));
}

/** True for a filter of exactly a type and an id, both strings. */
function isKey(filter: Filter): filter is { resourceType: string; id: string } {
  let keys = 0;
  for (const key in filter) if (++keys > 2 || (key !== 'resourceType' && key !== 'id')) return false;
  return keys === 2 && typeof filter.resourceType === 'string' && typeof filter.id === 'string';
}

function* matching(ctx: QueryContext, sql: string, where: SqlCondition, filter: Filter): Iterable<StoredRecord> {
  // `$where` and friends run arbitrary JavaScript; filters are data, never code.
  const recheck = where.exact ? undefined : new Query(filter, { scriptEnabled: false });
  const rows = ctx.statements.get(sql).pluck(false).iterate(...where.params) as IterableIterator<RecordRow>;
  for (const row of rows) {
    const record = parseRecord(row.record, row.idx);
    if (!recheck || recheck.test(record as unknown as Record<string, unknown>)) yield record;
  }
}
