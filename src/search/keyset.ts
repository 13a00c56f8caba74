import { FhirError } from '../fhir/errors.js';
import { findCountedOf, type CollectionName, type Filter, type Sort, type StorePort, type StoredRecord } from '../store/port.js';

/** One sort key of a keyset; the last keys must make the order total (e.g. end with id and versionId). */
export interface SortKey {
  field: keyof StoredRecord | string;
  direction: 1 | -1;
}

/** Where a page starts: after (`next`) or before (`prev`) the given key values, in sort order. */
export interface Cursor {
  dir: 'next' | 'prev';
  key: unknown[];
}

export interface Page {
  records: StoredRecord[];
  /** Cursor of the following page, when there is one. */
  next?: Cursor;
  /** Cursor of the preceding page, when there is one. */
  prev?: Cursor;
  /** Every record the filter matches, when a first page was read `withTotal`. */
  total?: number;
}

/** Opaque, URL-safe cursor token for Bundle links. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.dir, cursor.key])).toString('base64url');
}

/** Parses a cursor token; a malformed one is the client's error (400). */
export function decodeCursor(token: string, keyCount: number): Cursor {
  try {
    const [dir, key] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [unknown, unknown];
    // Key values become query operands: only scalars, so a forged cursor cannot smuggle in an operator document.
    const scalars = Array.isArray(key) && key.every((v) => v === null || typeof v === 'string' || typeof v === 'number');
    if ((dir === 'next' || dir === 'prev') && scalars && key.length === keyCount) return { dir, key };
  } catch {
    // fall through to the error below
  }
  throw new FhirError('bad-request', 'The paging cursor is invalid; follow the Bundle links as given');
}

function valueAt(record: StoredRecord, field: string): unknown {
  return field.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], record) ?? null;
}

/**
 * The filter selecting records strictly after (`forward`) or before the key, in the order of `keys`:
 * (k1 > v1) or (k1 = v1 and k2 > v2) or ... — a plain query document any adapter runs on its indexes.
 * A missing sort value (a search parameter the resource has no value for) is null, which sorts
 * below every value as in MongoDB, so comparisons with null are written out explicitly.
 */
export function keysetFilter(keys: readonly SortKey[], values: readonly unknown[], forward: boolean): Filter {
  const branches: Filter[] = [];
  keys.forEach((key, i) => {
    const ascending = (key.direction === 1) === forward;
    const beyond = beyondValue(key.field, values[i] ?? null, ascending);
    if (!beyond) return;
    const clause: Filter = {};
    for (let j = 0; j < i; j++) clause[keys[j].field] = values[j] ?? null;
    branches.push({ ...clause, ...beyond });
  });
  if (branches.length === 0) return { id: { $in: [] } }; // nothing sorts beyond the key
  return branches.length === 1 ? branches[0] : { $or: branches };
}

/** Records whose `field` sorts after `value` (ascending) or before it; undefined when none can. */
function beyondValue(field: string, value: unknown, ascending: boolean): Filter | undefined {
  if (value === null) return ascending ? { [field]: { $ne: null } } : undefined;
  if (ascending) return { [field]: { $gt: value } };
  return { $or: [{ [field]: { $lt: value } }, { [field]: null }] };
}

function sortOf(keys: readonly SortKey[], forward: boolean): Sort {
  return Object.fromEntries(keys.map((k) => [k.field, forward ? k.direction : -k.direction])) as Sort;
}

/**
 * Reads one page by keyset: no skip, so concurrent inserts never shift a page (no duplicates, no gaps).
 * One extra record is read in the paging direction to know whether a further page exists, and one
 * in the other direction to know whether a page precedes this one. `withTotal`: a first page also
 * counts every match, in the same pass where the store can (`_total`, issue 13).
 */
export async function readPage(store: StorePort, collection: CollectionName, filter: Filter, keys: readonly SortKey[], count: number, cursor?: Cursor, withTotal = false): Promise<Page> {
  const forward = cursor?.dir !== 'prev';
  const scoped = cursor ? { $and: [filter, keysetFilter(keys, cursor.key, forward)] } : filter;
  const options = { sort: sortOf(keys, forward), limit: count + 1 };
  // Past the first page the query is narrowed by its cursor: its matches are not the total.
  const counted = withTotal && !cursor ? await findCountedOf(store, collection, scoped, options) : undefined;
  const found = counted ? counted.records : await store.find(collection, scoped, options);
  const more = found.length > count;
  const records = forward ? found.slice(0, count) : found.slice(0, count).reverse();
  const keyOf = (r: StoredRecord): unknown[] => keys.map((k) => valueAt(r, k.field));
  const total = counted ? { total: counted.total } : {};
  if (records.length === 0) return { records, ...total };
  const first = keyOf(records[0]);
  const last = keyOf(records[records.length - 1]);
  const hasNext = forward ? more : true;
  const hasPrev = forward ? cursor !== undefined && (await exists(store, collection, filter, keys, first, false)) : more;
  return {
    records,
    ...(hasNext ? { next: { dir: 'next' as const, key: last } } : {}),
    ...(hasPrev ? { prev: { dir: 'prev' as const, key: first } } : {}),
    ...total,
  };
}

async function exists(store: StorePort, collection: CollectionName, filter: Filter, keys: readonly SortKey[], key: unknown[], forward: boolean): Promise<boolean> {
  const found = await store.find(collection, { $and: [filter, keysetFilter(keys, key, forward)] }, { sort: sortOf(keys, forward), limit: 1 });
  return found.length > 0;
}
