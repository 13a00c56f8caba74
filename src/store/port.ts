import type { Resource } from '@medplum/fhirtypes';

/**
 * The storage port. Every adapter (embedded, MongoDB) implements exactly this, and the shared
 * contract suite in `test/store/contract.ts` runs against each of them. Adapters hold no FHIR
 * rules and no security: they store records, evaluate MongoDB query documents and apply
 * atomic, version-checked commits. Everything else happens in the pipeline.
 */

/** `current` holds the latest version (or delete tombstone) of each resource; `history` every version. */
export type CollectionName = 'current' | 'history';

/** One stored version of a resource; the same shape in both collections. */
export interface StoredRecord {
  resourceType: string;
  id: string;
  /** Positive integer, 1 for the first version. */
  versionId: number;
  /** ISO-8601 instant in UTC with millisecond precision (`Date#toISOString`), so it sorts as a string. */
  lastUpdated: string;
  /** True for a delete tombstone; `resource` is then absent. */
  deleted: boolean;
  resource?: Resource;
  /** Search values extracted at write time (see the search issue); adapters index but never interpret them. */
  index?: Record<string, unknown>;
}

const resourceTexts = new WeakMap<StoredRecord, string>();

/**
 * The JSON text of a record's resource, as stored (`JSON.stringify(record.resource)` or text equal
 * to it), where the adapter read it as text and said so with `noteResourceJson`; else undefined.
 * A search page sends a resource that needs no decoding as this text instead of serializing it
 * again (src/fhir/json-text.ts, issue 13). Valid while `record.resource` is unchanged.
 */
export function storedResourceJson(record: StoredRecord): string | undefined {
  return resourceTexts.get(record);
}

/** Says that `text` is the JSON of the resource of a record an adapter has just parsed. */
export function noteResourceJson(record: StoredRecord, text: string): void {
  resourceTexts.set(record, text);
}

/** A MongoDB query document (the subset both adapters support: $eq $ne $gt $gte $lt $lte $in $nin $exists $and $or $not $elemMatch $regex). */
export type Filter = Record<string, unknown>;

/** A MongoDB sort document. */
export type Sort = Record<string, 1 | -1>;

export interface FindOptions {
  sort?: Sort;
  /** Maximum number of records returned. Paging is by keyset (filters on the sort keys), never by skip. */
  limit?: number;
  /**
   * A hint: the caller reads only the records' identity (resourceType, id, versionId, lastUpdated,
   * deleted), not `resource` or `index` (which resources a join's candidates or a chain's sub-query
   * are). An adapter may leave those out; returning them is always correct.
   */
  identityOnly?: boolean;
}

/** One write of a commit: the new record becomes current and is appended to history. */
export interface WriteOp {
  record: StoredRecord;
  /**
   * Optimistic concurrency: the versionId the current record must have when the commit applies,
   * or 0 when no current record may exist. A mismatch fails the whole commit with VersionConflictError.
   */
  expectedVersion: number;
  /**
   * A hint: the record's search values (its `index`, less keys an adapter keeps out of its search
   * structures) are those of the current version `expectedVersion`, so an adapter that keeps them
   * apart may leave them as they are (issue 17: a dispense's new version of its prescription changes
   * only its running total). Set only where that is known; ignoring it is always correct.
   */
  sameSearchValues?: boolean;
}

/** Thrown by `commit` when a precondition fails; nothing of that commit is stored. */
export class VersionConflictError extends Error {
  constructor(
    readonly resourceType: string,
    readonly id: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`Version conflict on ${resourceType}/${id}: expected ${expected}, found ${actual}`);
    this.name = 'VersionConflictError';
  }
}

/** Thrown when the store cannot be reached or has failed; the edge answers 503. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

export interface StorePort {
  /** Opens (and for the embedded store, recovers) the store. */
  open(): Promise<void>;
  /** Flushes and releases everything; pending commits finish first. */
  close(): Promise<void>;
  /** True when the store can serve requests (readiness). */
  ping(): Promise<boolean>;
  /** Records matching a MongoDB query document, sorted and limited. Returned records are copies the caller may mutate. */
  find(collection: CollectionName, filter: Filter, options?: FindOptions): Promise<StoredRecord[]>;
  /** Number of records matching the filter. */
  count(collection: CollectionName, filter: Filter): Promise<number>;
  /**
   * `find`, and the number of all records matching the filter (the limit aside) as `count` gives
   * it: a search's first page and its `_total` in one pass where the store can (issue 13).
   * Optional: `findCountedOf` falls back to `find`, then `count` when the page is full.
   */
  findCounted?(collection: CollectionName, filter: Filter, options?: FindOptions): Promise<{ records: StoredRecord[]; total: number }>;
  /**
   * Records matching the filter, counted per distinct value at `path` (`index.<field>.<key>`: one
   * key of a search parameter's entries, e.g. `index.requester.r`); a record holding several
   * values counts once for each, one holding none is left out. For reports (issue 18), answered
   * from the store's indexes. Optional: `groupCountOf` falls back to reading the matches.
   */
  groupCount?(collection: CollectionName, filter: Filter, path: string): Promise<GroupCount[]>;
  /**
   * Applies all writes atomically: either every write becomes visible (current + history) or none does.
   * Resolves only once the writes are durable (fsync for the embedded store, majority write concern for MongoDB).
   * Rejects with VersionConflictError when any expectedVersion does not hold.
   */
  commit(writes: WriteOp[]): Promise<void>;
  /**
   * `commit` in two steps, for a store that applies commits in call order before they are durable
   * (the embedded store: written to the WAL at once, fsync'd by group). Resolves once the writes are
   * applied and visible, with `durable` resolving once they are on disk (or rejecting, the outcome
   * then unknown); rejects as `commit` does. Lets a single writer (the audit chain) prepare and apply
   * its next commit while the previous one's fsync is in flight (group commit pipelining, issue 14).
   * Optional: without it, writers wait for `commit`.
   */
  stage?(writes: WriteOp[]): Promise<{ durable: Promise<void> }>;
  /**
   * A number that changes whenever a version of `resourceType` is committed, so callers can tell
   * that what they derived from those resources (the consent gate's decisions) is stale. Optional:
   * `revisionOf` falls back to counting the type's history, which only ever grows.
   */
  revision?(resourceType: string): Promise<number>;
  /**
   * Replaces the stored form (`resource`, `index`) of existing versions in place, atomically: no new
   * version, no version check, the identity fields (resourceType, id, versionId, lastUpdated,
   * deleted) unchanged; a record that is also current is replaced there too. Versions that do not
   * exist are skipped. For maintenance that must not look like an edit: re-encryption under a new
   * key (issue 9). Optional: without it, `npm run rotate-keys` refuses to run.
   */
  rewrite?(records: StoredRecord[]): Promise<void>;
  /**
   * Rewrites the store's own files so that data superseded by `rewrite` leaves them (the embedded
   * store compacts its journal into a new snapshot). Optional: a no-op where the database manages this.
   */
  compact?(): Promise<void>;
  /**
   * Hard-deletes resources: every version (current and history) and every search value of each
   * `{resourceType, id}`, atomically; resources that do not exist are skipped. For retention only
   * (`npm run audit:archive` removes AuditEvents it has archived): the pipeline never calls it,
   * since FHIR deletes keep history. Optional: without it, archiving refuses to run.
   */
  purge?(records: ReadonlyArray<ResourceKey>): Promise<void>;
}

/** One group of `StorePort.groupCount`. */
export interface GroupCount {
  value: string | number;
  count: number;
}

/** The path `groupCount` takes: a key of a search parameter's entries. */
export const GROUP_PATH = /^index\.[A-Za-z0-9_-]+\.[A-Za-z]+$/;

/** `StorePort.findCounted`, or the same answer from `find` and, when the limit cut the matches short, `count`. */
export async function findCountedOf(store: StorePort, collection: CollectionName, filter: Filter, options: FindOptions = {}): Promise<{ records: StoredRecord[]; total: number }> {
  if (store.findCounted) return store.findCounted(collection, filter, options);
  const records = await store.find(collection, filter, options);
  const limit = options.limit ? Math.abs(options.limit) : Infinity; // as MongoDB: 0 means no limit
  return { records, total: records.length < limit ? records.length : await store.count(collection, filter) };
}

/** `StorePort.groupCount`, or the same answer from the matching records where the store has none. */
export async function groupCountOf(store: StorePort, collection: CollectionName, filter: Filter, path: string): Promise<GroupCount[]> {
  if (!GROUP_PATH.test(path)) throw new Error(`groupCount takes index.<field>.<key>, not ${path}`);
  if (store.groupCount) return store.groupCount(collection, filter, path);
  return groupRecords(await store.find(collection, filter), path);
}

/** Groups records by the distinct values at `path` (`index.<field>.<key>`), in memory: the fallback of `groupCount`. */
export function groupRecords(records: Iterable<StoredRecord>, path: string): GroupCount[] {
  const [, field, key] = path.split('.');
  const counts = new Map<string | number, number>();
  for (const record of records) {
    const entries = record.index?.[field];
    const values = new Set((Array.isArray(entries) ? entries : [entries]).map((e) => (e && typeof e === 'object' ? (e as Record<string, unknown>)[key] : undefined)));
    for (const v of values) if (typeof v === 'string' || typeof v === 'number') counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return [...counts].map(([value, count]) => ({ value, count }));
}

/** The identity of a resource, all of whose versions `purge` removes. */
export interface ResourceKey {
  resourceType: string;
  id: string;
}

/** The store's revision of a type (`StorePort.revision`), or its history count where it has none. */
export async function revisionOf(store: StorePort, resourceType: string): Promise<number> {
  return store.revision ? store.revision(resourceType) : store.count('history', { resourceType });
}
