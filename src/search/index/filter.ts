import type { Filter } from '../../store/port.js';

/**
 * Small builders for the MongoDB query documents the compilers emit. Values from the request
 * only ever appear as operands, never as keys, so a search value cannot become an operator.
 */

/**
 * Operators MongoDB applies to each array element on a dotted path just as `$elemMatch` would
 * when used alone. Not the negative ones (`$ne`, `$nin`, `$not`, `$exists`), which hold for the
 * array as a whole, and not two bounds together, which different elements could satisfy.
 */
const PER_ELEMENT = new Set(['$eq', '$in', '$regex', '$gt', '$gte', '$lt', '$lte']);

function isSingleCondition(condition: unknown): boolean {
  if (condition === null || typeof condition !== 'object') return true;
  const keys = Object.keys(condition);
  return (keys.length === 1 && PER_ELEMENT.has(keys[0])) || (keys.length === 2 && keys.includes('$regex') && keys.includes('$options'));
}

/** A document of one plain condition on one field (`{ hi: { $gt: x } }`), which a dotted path can carry. */
function isSingleField(predicate: unknown): boolean {
  if (predicate === null || typeof predicate !== 'object' || Array.isArray(predicate)) return false;
  const keys = Object.keys(predicate);
  return keys.length === 1 && !keys[0].startsWith('$') && isSingleCondition((predicate as Filter)[keys[0]]);
}

/**
 * Records with at least one entry at `path` satisfying `predicate` (a document over the entry's
 * fields). A single plain condition is written on the dotted path (`index.gender.c`); several
 * conditions use `$elemMatch`, so that they must hold on the same entry. A disjunction of single
 * conditions is a disjunction of dotted paths (some entry satisfies A or B exactly when some entry
 * satisfies A or some entry satisfies B), which a store answers from its index alone, where an
 * `$elemMatch` is re-checked on every candidate (issue 13: `Appointment?date=ge…`, `ne`).
 */
export function someEntry(path: string, predicate: Filter): Filter {
  if (isSingleField(predicate)) {
    const [key] = Object.keys(predicate);
    return { [`${path}.${key}`]: predicate[key] };
  }
  const branches = Object.keys(predicate).length === 1 ? predicate.$or : undefined;
  if (Array.isArray(branches) && branches.length > 0 && branches.every(isSingleField)) return anyOf(branches.map((b: Filter) => someEntry(path, b)));
  return { [path]: { $elemMatch: predicate } };
}

/** Records without any entry at `path` satisfying `predicate`, including records without entries. */
export function noEntry(path: string, predicate: Filter): Filter {
  return { [path]: { $not: { $elemMatch: predicate } } };
}

/** The disjunction of filters; a single one stays as it is. */
export function anyOf(filters: Filter[]): Filter {
  return filters.length === 1 ? filters[0] : { $or: filters };
}

/**
 * The conjunction of filters, merged into one document where their keys do not clash
 * (`{lo: {$gte: a}}` and `{lo: {$lte: b}}` become `{lo: {$gte: a, $lte: b}}`), else `$and`.
 */
export function allOf(filters: Filter[]): Filter {
  const merged: Filter = {};
  for (const filter of filters) {
    for (const [key, value] of Object.entries(filter)) {
      const existing = merged[key];
      if (existing === undefined) {
        merged[key] = value;
      } else if (isOperatorDoc(existing) && isOperatorDoc(value) && !Object.keys(value).some((op) => op in existing)) {
        merged[key] = { ...existing, ...value };
      } else {
        return { $and: filters };
      }
    }
  }
  return merged;
}

function isOperatorDoc(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.keys(value).every((k) => k.startsWith('$') && k !== '$or' && k !== '$and');
}

/** `{ [field]: { [op]: value } }`. */
export function cond(field: string, op: string, value: unknown): Filter {
  return { [field]: { [op]: value } };
}
