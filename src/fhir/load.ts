import type { Resource } from '@medplum/fhirtypes';
import type { StoredRecord } from '../store/port.js';
import { FhirError } from './errors.js';
import type { PipelineDeps } from './pipeline.js';
import type { WriteUnit } from './write-unit.js';

/**
 * The current record of a resource (possibly a delete tombstone), or undefined. Within a
 * transaction (`unit`), what an earlier entry staged is current: read-your-writes.
 */
export async function loadCurrent(deps: PipelineDeps, resourceType: string, id: string, unit?: WriteUnit): Promise<StoredRecord | undefined> {
  const staged = unit?.staged(resourceType, id);
  if (staged) return staged;
  const [record] = await deps.store.find('current', { resourceType, id }, { limit: 1 });
  return record;
}

/** The current, non-deleted record; 404 when it never existed, 410 when deleted. */
export async function loadLive(deps: PipelineDeps, resourceType: string, id: string, unit?: WriteUnit): Promise<StoredRecord> {
  const record = await loadCurrent(deps, resourceType, id, unit);
  if (!record) throw new FhirError('not-found', `${resourceType}/${id} is not known`);
  if (record.deleted) throw new FhirError('gone', `${resourceType}/${id} has been deleted`);
  return record;
}

/** The resource of a record, decoded (decrypted) for the caller. */
export async function resourceOf(deps: PipelineDeps, record: StoredRecord): Promise<Resource> {
  if (!record.resource) throw new Error(`record ${record.resourceType}/${record.id} has no resource`);
  return deps.codec.decode(record.resource);
}

/** Identity of a record, for Location, ETag and Last-Modified. */
export function versionOf(record: StoredRecord): { resourceType: string; id: string; versionId: string; lastUpdated: string } {
  return { resourceType: record.resourceType, id: record.id, versionId: String(record.versionId), lastUpdated: record.lastUpdated };
}
