import type { CollectionName, Filter } from '../port.js';
import { pidIn, type KeyPathIds, type PathIds } from './path-ids.js';
import { encodeString, PRESENCE, sqlValue, type SqlValue } from './search-values.js';
import type { LackingTypes } from './unindexed.js';

/**
 * Translates a MongoDB query document into a SQL condition over a record table aliased `r`
 * (`current` or `versions`, schema.ts). The translation never loses a match: each part is either
 * translated exactly, or, when it cannot be (negations of search values, `$elemMatch` with several
 * conditions, unanchored regexes...), widened to a condition that holds for every match, and the
 * result is marked inexact. Inexact results are re-checked with mingo on the rows the SQL selects
 * (query.ts), so the embedded store answers every document exactly like MongoDB while indexes
 * pick the candidates.
 *
 * The value tables hold resources' values (schema.ts): those of their current version in
 * `search_values`, exactly, and those their earlier versions had in `ended_values`. A condition
 * on `current` is a lookup of the first; on `history`, a version is a candidate when its resource
 * has the value in either, and is re-checked on its own `index`.
 */
export interface SqlCondition {
  sql: string;
  params: SqlParam[];
  /** True when the SQL selects exactly the matching records: no re-check needed, count in SQL. */
  exact: boolean;
  /**
   * Sub-selects of resource numbers (`rid`), each a superset of the matches' resources, that a
   * query may start from instead of the record table (query.ts picks the smallest, when it is small).
   */
  drivers?: Driver[];
  /** The conditions this one is the conjunction of (`and`), each a part of `sql` and `params` in order. */
  conjuncts?: SqlCondition[];
  /** True when only the record's columns decide it (no value table is read): a walk of `current` can apply it as it reads (bounded-walk.ts). */
  onColumns?: boolean;
}

/**
 * Resource numbers from the value tables: the union of `SELECT rid ...` parts (one for a plain
 * condition, one per branch for a disjunction, each doubled on `history`), each estimated on its own (query.ts).
 */
export interface Driver {
  /** `distinct`: the part selects each resource at most once (one value of one path), so no DISTINCT is needed. */
  parts: Array<{ sql: string; params: SqlParam[]; distinct?: boolean }>;
  /**
   * The condition the driver's versions satisfy exactly (those and no other): a query started from
   * the driver need not test it again on every candidate (query.ts).
   */
  decides?: SqlCondition;
}

export type SqlParam = string | number | Buffer;

const TRUE: SqlCondition = { sql: '1', params: [], exact: true };
const FALSE: SqlCondition = { sql: '0', params: [], exact: true };
/** "Some superset of the matches": nothing could be translated, the re-check decides. */
const UNKNOWN: SqlCondition = { sql: '1', params: [], exact: false };

type Kind = 'string' | 'number' | 'boolean';

/** The record fields that are columns of both record tables. */
const COLUMNS: Record<string, { column: string; kind: Kind }> = {
  resourceType: { column: 'type', kind: 'string' },
  id: { column: 'id', kind: 'string' },
  versionId: { column: 'version', kind: 'number' },
  lastUpdated: { column: 'last_updated', kind: 'string' },
  deleted: { column: 'deleted', kind: 'boolean' },
};

const COMPARISONS: Record<string, string> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' };
const EMPTY_BLOB = Buffer.alloc(0);

/** The resource number of a `history` row `r` (a version): its resource's, from `current`. */
const HISTORY_RID = '(SELECT c.rid FROM current c WHERE c.type = r.type AND c.id = r.id)';

/** Translates a filter on a collection (see the module comment). */
export function translateFilter(filter: Filter, pathIds: PathIds, keyPathIds: KeyPathIds, lacking: LackingTypes = () => [], collection: CollectionName = 'current'): SqlCondition {
  return new Translator(pathIds, keyPathIds, lacking, collection === 'history').document(filter, '');
}

class Translator {
  constructor(
    private readonly pathIds: PathIds,
    private readonly keyPathIds: KeyPathIds,
    private readonly lacking: LackingTypes,
    /** Rows `r` are versions: the value tables narrow them to candidates (see the module comment). */
    private readonly history: boolean,
  ) {}

  /** A query document; `base` is the array path an `$elemMatch` document is relative to. */
  document(filter: Filter, base: string): SqlCondition {
    const parts: SqlCondition[] = [];
    for (const [key, value] of Object.entries(filter)) {
      if (key === '$and' && Array.isArray(value)) parts.push(...value.map((f) => this.document(f as Filter, base)));
      else if (key === '$or' && Array.isArray(value)) parts.push(this.or(value.map((f) => this.document(f as Filter, base))));
      else if (key.startsWith('$')) parts.push(UNKNOWN);
      else parts.push(this.field(base ? `${base}.${key}` : key, value, base === ''));
    }
    return and(parts);
  }

  or(branches: SqlCondition[]): SqlCondition {
    if (branches.length === 0) return FALSE;
    // One untranslatable branch could match anything, so the disjunction could too.
    if (branches.some((b) => b.sql === '1' && !b.exact)) return UNKNOWN;
    if (branches.some((b) => b.sql === '1')) return { ...TRUE, exact: branches.every((b) => b.exact) };
    const live = branches.filter((b) => b.sql !== '0');
    // Every branch narrowed by the index: the union of one driver of each is a driver of the disjunction.
    const drivers = live.length > 0 && live.every((b) => b.drivers?.length) ? [{ parts: live.flatMap((b) => b.drivers![0].parts) }] : undefined;
    const onColumns = branches.every((b) => b.onColumns || b.sql === '0');
    return { sql: `(${branches.map((b) => b.sql).join(' OR ')})`, params: branches.flatMap((b) => b.params), exact: branches.every((b) => b.exact), ...(drivers ? { drivers } : {}), ...(onColumns ? { onColumns } : {}) };
  }

  /** The condition on one field; `top` is false inside `$elemMatch`, where record columns do not exist. */
  field(path: string, condition: unknown, top: boolean): SqlCondition {
    const operators = isOperatorDocument(condition) ? Object.entries(condition) : [['$eq', condition] as [string, unknown]];
    const column = top ? COLUMNS[path] : undefined;
    if (column) return and(operators.map(([op, operand]) => columnCondition(column.column, column.kind, op, operand)));
    if (!path.startsWith('index.')) return UNKNOWN;
    const options = isOperatorDocument(condition) ? condition.$options : undefined;
    const translated = and(operators.filter(([op]) => op !== '$options').map(([op, operand]) => this.valueCondition(path, op, operand, options)));
    return widen(translated, this.lacking(path));
  }

  /** One operator on a search-value path: one sub-select, so that each operator may hold on a different array element, as in MongoDB. */
  valueCondition(path: string, op: string, operand: unknown, options: unknown): SqlCondition {
    if (operand instanceof RegExp) return op === '$eq' || op === '$regex' ? this.regex(path, operand.source, operand.flags) : UNKNOWN;
    switch (op) {
      case '$eq':
        if (operand === null) return this.presence(path, false);
        return this.values(path, 'value = ?', [sqlValue(operand)]);
      case '$ne':
        return operand === null ? this.presence(path, true) : UNKNOWN;
      case '$exists':
        return this.exists(path, Boolean(operand));
      case '$in': {
        if (!Array.isArray(operand)) return UNKNOWN;
        const scalars = operand.filter((v) => v !== null);
        const values = scalars.map(sqlValue);
        if (values.some((v) => v === undefined)) return UNKNOWN;
        const matched = values.length === 0 ? FALSE : this.values(path, `value IN (${values.map(() => '?').join(', ')})`, values);
        return scalars.length === operand.length ? matched : this.or([matched, this.presence(path, false)]);
      }
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        return this.comparison(path, COMPARISONS[op], operand);
      case '$regex':
        return typeof operand === 'string' ? this.regex(path, operand, typeof options === 'string' ? options : '') : UNKNOWN;
      case '$elemMatch':
        return this.elemMatch(path, operand);
      default:
        return UNKNOWN;
    }
  }

  /** MongoDB compares only within a type bracket: numbers with numbers, strings with strings. */
  comparison(path: string, sign: string, operand: unknown): SqlCondition {
    const value = sqlValue(operand);
    if (value === undefined) return UNKNOWN;
    // In SQLite numbers sort below blobs (our strings): bound the other side of the bracket.
    if (typeof value === 'number') return this.values(path, sign.startsWith('>') ? `value ${sign} ? AND value < ?` : `value ${sign} ?`, sign.startsWith('>') ? [value, EMPTY_BLOB] : [value]);
    return this.values(path, sign.startsWith('<') ? `value >= ? AND value ${sign} ?` : `value ${sign} ?`, sign.startsWith('<') ? [EMPTY_BLOB, value] : [value]);
  }

  /** An anchored literal prefix (`^abc`, what string searches compile to) is a range; other patterns are re-checked. */
  regex(path: string, source: string, flags: string): SqlCondition {
    const prefix = flags === '' ? literalPrefix(source) : undefined;
    if (prefix === undefined) return UNKNOWN;
    const upper = successor(prefix);
    if (upper === undefined) return this.values(path, 'value >= ?', [encodeString(prefix)]);
    return this.values(path, 'value >= ? AND value < ?', [encodeString(prefix), encodeString(upper)]);
  }

  elemMatch(path: string, operand: unknown): SqlCondition {
    if (typeof operand !== 'object' || operand === null || Array.isArray(operand)) return UNKNOWN;
    // Each condition is looked up on its own, so two could hold on different elements: re-checked.
    const logical = Object.keys(operand).some((k) => k === '$and' || k === '$or' || k === '$nor');
    const inner = isOperatorDocument(operand) && !logical ? this.field(path, operand, false) : this.document(operand as Filter, path);
    return inner.sql === '0' ? FALSE : { ...inner, exact: false };
  }

  /** Records with some value at `path` satisfying `predicate` (SQL over the `value` column). */
  values(path: string, predicate: string, params: Array<SqlValue | undefined>): SqlCondition {
    if (params.some((p) => p === undefined)) return UNKNOWN;
    const pids = this.pathIds(path);
    if (pids.length === 0) return FALSE; // no record of the query's types has ever had a value there
    const pid = pidIn('pid', pids);
    const values = params as SqlValue[];
    // Correlated, so a candidate costs one index probe whatever the number of matches; the same
    // values uncorrelated are a driver the query may start from instead.
    const exists = (table: string, rid: string): string => `EXISTS (SELECT 1 FROM ${table} WHERE rid = ${rid} AND ${pid} AND ${predicate})`;
    // One value of one path: the key (pid, value, rid) holds each resource once, under its type's pid.
    const distinct = predicate === 'value = ?';
    const part = (table: string) => ({ sql: `SELECT rid FROM ${table} WHERE ${pid} AND ${predicate}`, params: values, ...(distinct ? { distinct } : {}) });
    if (!this.history) {
      const driver: Driver = { parts: [part('search_values')] };
      const condition: SqlCondition = { sql: exists('search_values', 'r.rid'), params: values, exact: true, drivers: [driver] };
      driver.decides = condition;
      return condition;
    }
    const sql = `(${exists('search_values', HISTORY_RID)} OR ${exists('ended_values', HISTORY_RID)})`;
    return { sql, params: [...values, ...values], exact: false, drivers: [{ parts: [part('search_values'), part('ended_values')] }] };
  }

  /**
   * `null` (missing or null) and `$ne: null` on a top-level key of `index`, from its presence row
   * or its value rows (search-values.ts: a key has a presence row only where its value rows do not
   * tell). Deeper paths would need MongoDB's per-element null rules, so they are re-checked instead.
   */
  presence(path: string, nonNull: boolean): SqlCondition {
    return this.#present(path, nonNull, true);
  }

  exists(path: string, present: boolean): SqlCondition {
    return this.#present(path, present, false);
  }

  /** Records where the top-level key holds a value (`nonNullOnly`: a non-null one), or, with `wanted` false, the others. */
  #present(path: string, wanted: boolean, nonNullOnly: boolean): SqlCondition {
    // A resource's rows tell what its current version has, not what an earlier one had.
    if (!isTopLevel(path) || this.history) return UNKNOWN;
    const markers = this.pathIds(PRESENCE + path);
    const values = this.keyPathIds(path);
    if (markers.length === 0 && values.length === 0) return wanted ? FALSE : TRUE;
    const rows = (condition: string): string => `EXISTS (SELECT 1 FROM search_values WHERE rid = r.rid AND ${condition})`;
    const valueRows = values.length === 0 ? undefined : rows(pidIn('pid', values));
    const marker = markers.length === 0 ? undefined : pidIn('pid', markers);
    let some: string;
    if (!nonNullOnly) some = [...(marker === undefined ? [] : [rows(marker)]), ...(valueRows ? [valueRows] : [])].join(' OR ');
    else if (marker === undefined) some = valueRows!;
    else {
      // Value rows tell "non-null" unless the marker says null (an array holding a null has both).
      const nonNullMarked = rows(`${marker} AND value = 1`);
      some = valueRows ? `${nonNullMarked} OR (${valueRows} AND NOT ${rows(`${marker} AND value = 0`)})` : nonNullMarked;
    }
    return { sql: wanted ? `(${some})` : `NOT (${some})`, params: [], exact: true };
  }
}

/** A condition on a record column. Operands of another type than the column's are left to the re-check. */
function columnCondition(column: string, kind: Kind, op: string, operand: unknown): SqlCondition {
  const col = `r.${column}`;
  const value = (v: unknown): SqlParam | undefined => {
    if (kind === 'boolean') return typeof v === 'boolean' ? (v ? 1 : 0) : undefined;
    return typeof v === kind ? (v as string | number) : undefined;
  };
  switch (op) {
    case '$eq': {
      if (operand === null) return FALSE; // the columns are never null
      const v = value(operand);
      return v === undefined ? UNKNOWN : { sql: `${col} = ?`, params: [v], exact: true, onColumns: true };
    }
    case '$ne': {
      if (operand === null) return TRUE;
      const v = value(operand);
      return v === undefined ? UNKNOWN : { sql: `${col} <> ?`, params: [v], exact: true, onColumns: true };
    }
    case '$in':
    case '$nin': {
      if (!Array.isArray(operand)) return UNKNOWN;
      const values = operand.filter((v) => v !== null).map(value);
      if (values.some((v) => v === undefined)) return UNKNOWN;
      if (values.length === 0) return op === '$in' ? FALSE : TRUE;
      return { sql: `${col} ${op === '$in' ? 'IN' : 'NOT IN'} (${values.map(() => '?').join(', ')})`, params: values as SqlParam[], exact: true, onColumns: true };
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const v = kind === 'boolean' ? undefined : value(operand);
      return v === undefined ? UNKNOWN : { sql: `${col} ${COMPARISONS[op]} ?`, params: [v], exact: true, onColumns: true };
    }
    case '$exists':
      return operand ? TRUE : FALSE;
    default:
      return UNKNOWN;
  }
}

/**
 * A condition on a path some types keep out of `search_values` (unindexed.ts): their records cannot
 * be judged from rows, so all of them are candidates, re-checked on the record.
 */
function widen(condition: SqlCondition, types: readonly string[]): SqlCondition {
  if (types.length === 0) return condition;
  if (condition.sql === '1') return { ...condition, exact: false };
  const ofTypes = `r.type IN (${types.map(() => '?').join(', ')})`;
  if (condition.sql === '0') return { sql: ofTypes, params: [...types], exact: false };
  return { sql: `(${ofTypes} OR ${condition.sql})`, params: [...types, ...condition.params], exact: false };
}

function and(parts: SqlCondition[]): SqlCondition {
  // One pass, no spread of optional members: a search's filter makes a dozen of these, and the
  // array-method version was a third of its translation's time (issue 13, appointments page).
  let exact = true;
  const restricting: SqlCondition[] = [];
  for (const p of parts) {
    // A superset that is empty leaves nothing to re-check: the conjunction is exactly false.
    if (p.sql === '0') return FALSE;
    if (!p.exact) exact = false;
    if (p.sql !== '1') restricting.push(p);
  }
  if (restricting.length === 0) return exact ? TRUE : UNKNOWN;
  const sql: string[] = [];
  const params: SqlParam[] = [];
  const drivers: Driver[] = [];
  const conjuncts: SqlCondition[] = [];
  let onColumns = true;
  for (const p of restricting) {
    if (!p.onColumns) onColumns = false;
    sql.push(p.sql);
    for (const param of p.params) params.push(param);
    if (p.drivers) for (const d of p.drivers) drivers.push(d);
    if (p.conjuncts) for (const c of p.conjuncts) conjuncts.push(c);
    else conjuncts.push(p);
  }
  const condition: SqlCondition = { sql: sql.join(' AND '), params, exact, conjuncts };
  if (drivers.length > 0) condition.drivers = drivers;
  if (onColumns) condition.onColumns = true;
  return condition;
}

function isOperatorDocument(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof RegExp || Buffer.isBuffer(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

function isTopLevel(path: string): boolean {
  return path.split('.').length === 2;
}

const SPECIAL = new Set('\\^$.*+?()[]{}|'.split(''));

/** The literal text of `^literal` (metacharacters escaped with a backslash), else undefined. */
export function literalPrefix(source: string): string | undefined {
  if (!source.startsWith('^')) return undefined;
  let out = '';
  for (let i = 1; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1];
      if (next === undefined || !SPECIAL.has(next)) return undefined; // \d, \w, \u...: a class, not a literal
      out += next;
      i++;
    } else if (SPECIAL.has(c)) {
      return undefined;
    } else {
      out += c;
    }
  }
  return out;
}

/** The smallest string above every string starting with `prefix` (by UTF-16 code unit), if any. */
export function successor(prefix: string): string | undefined {
  for (let end = prefix.length; end > 0; end--) {
    const unit = prefix.charCodeAt(end - 1);
    if (unit < 0xffff) return prefix.slice(0, end - 1) + String.fromCharCode(unit + 1);
  }
  return undefined;
}
