import { compare } from 'mingo/util';
import type { Sort, StoredRecord } from '../port.js';

/**
 * MongoDB sort order, with mingo's BSON comparison for the values themselves.
 *
 * mingo's own `$sort` differs from MongoDB where arrays are involved: MongoDB sorts an
 * array-valued field by its smallest element ascending and by its largest element
 * descending, ranks an empty array below null, and treats a missing field as null
 * (https://www.mongodb.com/docs/manual/reference/method/cursor.sort/#sort-with-arrays).
 * Search index values are arrays more often than not, so this module derives one sort key
 * per field the way MongoDB does and compares keys with mingo's `compare`, which already
 * follows the BSON type order (null < numbers < strings < objects < arrays < booleans).
 */

/** Below everything, including null: the key of an empty array. */
const EMPTY_ARRAY = Symbol('empty array');

type SortKey = unknown;

/** Returns the records in MongoDB sort order (a new array; ties keep their input order). */
export function sortRecords(records: StoredRecord[], sort: Sort): StoredRecord[] {
  const fields = Object.entries(sort).map(([path, direction]) => ({ parts: path.split('.'), direction }));
  if (fields.length === 0) return records;
  const decorated = records.map((record) => ({
    record,
    keys: fields.map(({ parts, direction }) => sortKey(record, parts, direction)),
  }));
  decorated.sort((a, b) => {
    for (let i = 0; i < fields.length; i++) {
      const order = compareKeys(a.keys[i], b.keys[i]);
      if (order !== 0) return fields[i].direction === -1 ? -order : order;
    }
    return 0;
  });
  return decorated.map((d) => d.record);
}

/** The single value MongoDB sorts a document by for one field and direction. */
function sortKey(record: StoredRecord, parts: string[], direction: 1 | -1): SortKey {
  const values: unknown[] = [];
  collect(record, parts, 0, values);
  let key = values[0];
  for (let i = 1; i < values.length; i++) {
    const order = compareKeys(values[i], key);
    if (direction === 1 ? order < 0 : order > 0) key = values[i];
  }
  return key;
}

/** Gathers the values a dotted path reaches, descending through arrays like MongoDB does. */
function collect(value: unknown, parts: string[], at: number, out: unknown[]): void {
  if (at === parts.length) {
    if (!Array.isArray(value)) out.push(value === undefined ? null : value);
    else if (value.length === 0) out.push(EMPTY_ARRAY);
    else out.push(...value);
    return;
  }
  const part = parts[at];
  if (Array.isArray(value)) {
    if (/^\d+$/.test(part)) return collect(value[Number(part)], parts, at + 1, out);
    if (value.length === 0) out.push(null);
    for (const item of value) collect(isObject(item) ? item[part] : undefined, parts, at + 1, out);
    return;
  }
  collect(isObject(value) ? value[part] : undefined, parts, at + 1, out);
}

function compareKeys(a: SortKey, b: SortKey): number {
  if (a === EMPTY_ARRAY || b === EMPTY_ARRAY) return a === b ? 0 : a === EMPTY_ARRAY ? -1 : 1;
  return compare(a, b);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
