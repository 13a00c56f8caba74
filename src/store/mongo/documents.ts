import type { CollectionName, Filter, FindOptions, Sort, StoredRecord } from '../port.js';

/**
 * How a StoredRecord is held in MongoDB: the record itself, unchanged, plus an `_id` derived
 * from its identity. Nothing here looks inside `resource` or `index`: they may carry encrypted
 * (JWE) content and blind-index tokens, and are stored and returned as opaque JSON.
 *
 *   current: { _id: 'Patient/123',   resourceType, id, versionId, lastUpdated, deleted, resource?, index? }
 *   history: { _id: 'Patient/123/4', ...the same fields }
 *
 * The `_id`s are deterministic, so writing the same version twice (a retried commit, a
 * migration run again) replaces a document instead of adding one. FHIR ids never contain `/`,
 * so the keys are unambiguous.
 */

/** `_id` of a resource's current record. */
export function currentKey(resourceType: string, id: string): string {
  return `${resourceType}/${id}`;
}

/** `_id` of one version in history. */
export function historyKey(resourceType: string, id: string, versionId: number): string {
  return `${resourceType}/${id}/${versionId}`;
}

/**
 * The record as plain JSON, exactly as the embedded store keeps it: `undefined` members
 * dropped, dates as strings. So both adapters return the same values, and the caller's
 * objects are never shared with the driver.
 */
export function normalizeRecord(record: StoredRecord): StoredRecord {
  return JSON.parse(JSON.stringify(record)) as StoredRecord;
}

/** Reads never return `_id`: callers see exactly the StoredRecord that was committed. */
export const RECORD_PROJECTION = { _id: 0 } as const;

/** Reads of identities only (FindOptions.identityOnly): the record's own fields, no `resource` or `index`. */
export const IDENTITY_PROJECTION = { _id: 0, resourceType: 1, id: 1, versionId: 1, lastUpdated: 1, deleted: 1 } as const;

/** Driver options of a `find`: the port's sort and limit, `_id` left out, never a skip. */
export interface FindCommand {
  projection: typeof RECORD_PROJECTION | typeof IDENTITY_PROJECTION;
  sort?: Sort;
  /** 0: no limit (as in MongoDB). A negative limit is taken as its absolute value, like the embedded store does. */
  limit: number;
}

/** The find options sent for the port's FindOptions. */
export function findCommand(options: FindOptions = {}): FindCommand {
  const sort = options.sort && Object.keys(options.sort).length > 0 ? options.sort : undefined;
  return { projection: options.identityOnly ? IDENTITY_PROJECTION : RECORD_PROJECTION, ...(sort ? { sort } : {}), limit: Math.abs(options.limit ?? 0) };
}

/** Read preferences the adapter uses (a subset of the driver's modes, by name). */
export type ReadPreferenceName = 'primary' | 'primaryPreferred' | 'secondary' | 'secondaryPreferred' | 'nearest';

/**
 * Which member answers a read. Searches may go to secondaries when configured to; everything a
 * write depends on stays on the primary: reads of one resource by id (the pipeline's version
 * check before an update, conditional reads) and history (vread, `_history` paging right after a
 * write). The filter is inspected only for a top-level `id` condition, never for what the
 * `resource` or `index` fields hold.
 */
export function readPreferenceFor(collection: CollectionName, filter: Filter, search: ReadPreferenceName): ReadPreferenceName {
  if (search === 'primary' || collection === 'history' || 'id' in filter) return 'primary';
  return search;
}
