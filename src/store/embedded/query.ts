import { Query } from 'mingo';
import type { CollectionName, Filter, FindOptions, StoredRecord } from '../port.js';
import { cloneJson } from './clone.js';
import type { Collections } from './collections.js';
import { sortRecords } from './sort.js';

/**
 * Query evaluation over the in-memory collections. Filters are MongoDB query documents,
 * matched by mingo so that the embedded and MongoDB adapters answer the very same documents
 * the same way. Plain equality on resourceType / id / versionId (the shapes reads by id and
 * vread produce) is answered by map lookups instead of a scan.
 */

/** Records matching the filter, sorted and limited, as copies the caller owns. */
export function findRecords(collections: Collections, collection: CollectionName, filter: Filter, options: FindOptions = {}): StoredRecord[] {
  const limit = options.limit ? Math.abs(options.limit) : Infinity; // MongoDB: 0 means no limit
  const sort = options.sort && Object.keys(options.sort).length ? options.sort : undefined;
  const matches: StoredRecord[] = [];
  for (const record of matching(collections, collection, filter)) {
    matches.push(record);
    if (!sort && matches.length >= limit) break; // without a sort any `limit` matches will do
  }
  const ordered = sort ? sortRecords(matches, sort) : matches;
  const page = ordered.length > limit ? ordered.slice(0, limit) : ordered;
  return page.map(cloneJson);
}

/** Number of records matching the filter. */
export function countRecords(collections: Collections, collection: CollectionName, filter: Filter): number {
  let count = 0;
  for (const _ of matching(collections, collection, filter)) count++;
  return count;
}

function* matching(collections: Collections, collection: CollectionName, filter: Filter): Iterable<StoredRecord> {
  const { candidates, exact } = select(collections, collection, filter);
  if (exact) {
    yield* candidates;
    return;
  }
  // `$where` and friends run arbitrary JavaScript; filters are data, never code.
  const query = new Query(filter, { scriptEnabled: false });
  for (const record of candidates) if (query.test(record as unknown as Record<string, unknown>)) yield record;
}

/** Fields whose plain equality the collections answer by lookup. */
const KEY_FIELDS = new Set(['resourceType', 'id', 'versionId']);

/**
 * The narrowest set of records the filter can match. `exact` means the lookup fields were
 * the whole filter, so the candidates need no further matching.
 */
function select(collections: Collections, collection: CollectionName, filter: Filter): { candidates: Iterable<StoredRecord>; exact: boolean } {
  const type = asString(equalityOn(filter, 'resourceType'));
  const id = type === undefined ? undefined : asString(equalityOn(filter, 'id'));
  const version = id === undefined || collection === 'current' ? undefined : asNumber(equalityOn(filter, 'versionId'));
  const used = [type, id, version].filter((v) => v !== undefined).length;
  const exact = used === Object.keys(filter).length && Object.keys(filter).every((k) => KEY_FIELDS.has(k));
  if (type === undefined) return { candidates: collections.scan(collection), exact: Object.keys(filter).length === 0 };
  if (id === undefined) return { candidates: collections.scan(collection, type), exact };
  if (collection === 'current') return { candidates: present(collections.current(type, id)), exact };
  if (version === undefined) return { candidates: collections.versionsOf(type, id), exact };
  return { candidates: present(collections.version(type, id, version)), exact };
}

/**
 * The value of `{field: value}` or `{field: {$eq: value}}`, also when it is one conjunct of a
 * top-level `$and` (search filters AND the type with the criteria), since every match must then
 * satisfy it. Callers accept only a scalar of the field's stored type: the stored field is such a
 * scalar, so MongoDB's array-element and type-bracketing rules cannot make a scan find anything
 * the lookup misses.
 */
function equalityOn(filter: Filter, field: string): unknown {
  const value = filter[field];
  const direct = typeof value !== 'object' || value === null || Array.isArray(value) ? value : eqOperand(value as Record<string, unknown>);
  if (direct !== undefined) return direct;
  const conjuncts = filter.$and;
  if (!Array.isArray(conjuncts)) return undefined;
  for (const part of conjuncts) {
    const found = typeof part === 'object' && part !== null ? equalityOn(part as Filter, field) : undefined;
    if (found !== undefined) return found;
  }
  return undefined;
}

function eqOperand(value: Record<string, unknown>): unknown {
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === '$eq' ? value.$eq : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function present(record: StoredRecord | undefined): StoredRecord[] {
  return record ? [record] : [];
}
