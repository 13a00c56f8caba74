import type { Resource } from '@medplum/fhirtypes';
import type { StoredRecord, StorePort } from '../store/port.js';
import type { StorageCodec } from './codec.js';
import { FhirError } from './errors.js';
import type { WriteUnit } from './write-unit.js';

/** What loading needs: the store and the codec that decodes (decrypts) what it holds. */
export interface LoaderDeps {
  store: StorePort;
  codec: StorageCodec;
}

/**
 * The one record loader of a request (issue 14: pay each cost once). Authorization, consent and
 * the interaction of one exchange share it, so a resource is read and decoded at most once per
 * request; within a transaction (`unit`), what an earlier entry staged is current (read-your-writes).
 */
export interface Loader {
  /** The current record (possibly a delete tombstone), or undefined. `fresh` skips what was loaded before: a write re-run after a conflict. */
  current(resourceType: string, id: string, fresh?: boolean): Promise<StoredRecord | undefined>;
  /** The current, non-deleted record; 404 when it never existed, 410 when deleted. */
  live(resourceType: string, id: string, fresh?: boolean): Promise<StoredRecord>;
  /** One version from history, or undefined. */
  version(resourceType: string, id: string, versionId: number): Promise<StoredRecord | undefined>;
  /** The resource of a record, decoded once per version. */
  resource(record: StoredRecord): Promise<Resource>;
}

/** A loader for one exchange (its transaction's unit, if any). */
export function createLoader(deps: LoaderDeps, unit?: WriteUnit): Loader {
  const current = new Map<string, Promise<StoredRecord | undefined>>();
  const decoded = new Map<string, Promise<Resource>>();
  const loader: Loader = {
    current(resourceType, id, fresh = false) {
      const key = `${resourceType}/${id}`;
      let found = fresh ? undefined : current.get(key);
      if (!found) current.set(key, (found = loadCurrent(deps, resourceType, id, unit)));
      return found;
    },
    async live(resourceType, id, fresh) {
      return liveOf(resourceType, id, await loader.current(resourceType, id, fresh));
    },
    async version(resourceType, id, versionId) {
      const [record] = await deps.store.find('history', { resourceType, id, versionId }, { limit: 1 });
      return record;
    },
    resource(record) {
      // A staged record is not yet a stored version: decoded each time, it may be replaced.
      if (unit?.staged(record.resourceType, record.id) === record) return decode(deps, record);
      const key = `${record.resourceType}/${record.id}/${record.versionId}`;
      let found = decoded.get(key);
      if (!found) decoded.set(key, (found = decode(deps, record)));
      return found;
    },
  };
  return loader;
}

/** The current record of a resource (possibly a delete tombstone), or undefined; a unit's staged write first. */
export async function loadCurrent(deps: LoaderDeps, resourceType: string, id: string, unit?: WriteUnit): Promise<StoredRecord | undefined> {
  const staged = unit?.staged(resourceType, id);
  if (staged) return staged;
  const [record] = await deps.store.find('current', { resourceType, id }, { limit: 1 });
  return record;
}

/** 404 when there is no record, 410 when it is a deletion; else the record. */
export function liveOf(resourceType: string, id: string, record: StoredRecord | undefined): StoredRecord {
  if (!record) throw new FhirError('not-found', `${resourceType}/${id} is not known`);
  if (record.deleted) throw new FhirError('gone', `${resourceType}/${id} has been deleted`);
  return record;
}

/** The resource of a record, decoded (decrypted) for the caller: for records read in bulk (search, history). */
export async function decode(deps: LoaderDeps, record: StoredRecord): Promise<Resource> {
  if (!record.resource) throw new Error(`record ${record.resourceType}/${record.id} has no resource`);
  return deps.codec.decode(record.resource);
}

/** Identity of a record, for Location, ETag and Last-Modified. */
export function versionOf(record: StoredRecord): { resourceType: string; id: string; versionId: string; lastUpdated: string } {
  return { resourceType: record.resourceType, id: record.id, versionId: String(record.versionId), lastUpdated: record.lastUpdated };
}
