import type { Filter } from '../port.js';

/**
 * What a filter says of one search-value path, for a walk of that path's rows in order
 * (sort-walk.ts): where the rows that can match start, and whether a record without a value there
 * can match at all. A keyset page's position (`(v > 5) or (v = 5 and id > x)`, src/search/keyset.ts)
 * bounds the walk, so the 50th page of `Patient?_sort=family` starts at its first family instead
 * of reading the 49 pages before it, and says that no record without a family matches, so none can
 * sort before the page.
 */
export interface ValueBound {
  /** The rows that can match are `>= bound` (a lower bound) or `<= bound` (an upper one); undefined: anywhere. */
  bound?: string | number;
  /** Whether a record with a value at the path can match (false: only records without one). */
  rows: boolean;
  /** Whether a record without a value at the path can match. */
  missing: boolean;
}

const ANY: ValueBound = { rows: true, missing: true };

/** The bound the filter puts on `path`: a lower one (`lower`) or an upper one. Never narrower than the matches. */
export function valueBound(filter: Filter, path: string, lower: boolean): ValueBound {
  const parts = Object.entries(filter).map(([key, operand]): ValueBound => {
    if (key === '$and' && Array.isArray(operand)) return all(operand.map((f: Filter) => valueBound(f, path, lower)), lower);
    if (key === '$or' && Array.isArray(operand)) return any(operand.map((f: Filter) => valueBound(f, path, lower)), lower);
    return key === path ? onPath(operand, lower) : ANY;
  });
  return all(parts, lower);
}

/** A condition on the path itself: a value, null, or comparison operators. */
function onPath(operand: unknown, lower: boolean): ValueBound {
  if (operand === null) return { rows: false, missing: true };
  if (typeof operand === 'string' || typeof operand === 'number') return { bound: operand, rows: true, missing: false };
  if (typeof operand !== 'object' || Array.isArray(operand)) return ANY;
  const parts = Object.entries(operand as Record<string, unknown>).map(([op, value]): ValueBound => {
    const scalar = typeof value === 'string' || typeof value === 'number';
    if (scalar && (op === '$eq' || (lower ? op === '$gt' || op === '$gte' : op === '$lt' || op === '$lte'))) return { bound: value, rows: true, missing: false };
    // Any other comparison with a value still needs one; `$ne: null` too.
    if ((scalar && ['$gt', '$gte', '$lt', '$lte'].includes(op)) || (op === '$ne' && value === null)) return { rows: true, missing: false };
    return ANY;
  });
  return all(parts, lower);
}

/** Every condition holds: the tightest bound. */
function all(parts: readonly ValueBound[], lower: boolean): ValueBound {
  let bound: string | number | undefined;
  for (const part of parts) if (part.bound !== undefined && (bound === undefined || before(bound, part.bound, lower))) bound = part.bound;
  return { ...(bound === undefined ? {} : { bound }), rows: parts.every((p) => p.rows), missing: parts.every((p) => p.missing) };
}

/** Some condition holds: the loosest bound of those a row can match, none if one of them has none. */
function any(parts: readonly ValueBound[], lower: boolean): ValueBound {
  const withRows = parts.filter((p) => p.rows);
  let bound: string | number | undefined = withRows[0]?.bound;
  for (const part of withRows) {
    if (part.bound === undefined || bound === undefined || typeof part.bound !== typeof bound) {
      bound = undefined;
      break;
    }
    if (before(part.bound, bound, lower)) bound = part.bound;
  }
  return { ...(bound === undefined ? {} : { bound }), rows: withRows.length > 0, missing: parts.some((p) => p.missing) };
}

/**
 * Whether `a` comes before `b` in the walk's direction (ascending for a lower bound). Values of one
 * kind only: MongoDB compares a string with strings alone, and the store orders numbers before
 * strings (blobs); `all` keeps the first of two kinds, which no row of the other kind can match.
 */
function before(a: string | number, b: string | number, lower: boolean): boolean {
  if (typeof a !== typeof b) return false;
  return lower ? a < b : a > b;
}
