import type { Resource } from '@medplum/fhirtypes';
import { decode as resourceOf, loadCurrent } from '../fhir/loader.js';
import type { PipelineDeps } from '../fhir/pipeline.js';
import type { WorkflowRequest as FhirRequest } from './types.js';
import { prepareWrite } from '../fhir/write.js';
import { derivedIndex } from './derived-index.js';
import { sameHolds, withHolds } from './hold-index.js';
import { decodeOnce } from './hold-view.js';
import { noteDerived } from './record-view.js';
import { viewsOf } from './views.js';
import type { Filter, StoredRecord, WriteOp } from '../store/port.js';

export { targetId } from './references.js';

/** A live resource the rule reads, with its record (the version its derived write is checked against). */
export interface Read<T extends Resource> {
  record: StoredRecord;
  resource: T;
}

/** Reads the live `type/id` as the request sees it (a transaction's own staged writes included); undefined when absent or deleted. */
export async function readLive<T extends Resource>(deps: PipelineDeps, request: FhirRequest, type: string, id: string): Promise<Read<T> | undefined> {
  // A transaction's staged version first; else the rules' views (slots: hold-view.ts; prescriptions: record-view.ts), else the store.
  const staged = request.unit?.staged(type, id);
  const views = staged ? undefined : viewsOf(deps.store);
  const held = await views?.holds.current(deps.store, type, id);
  if (held) return { record: held, resource: (await decodeHeld(deps)(held)) as T };
  const record = staged ?? (views ? await views.records.current(deps.store, type, id, () => loadCurrent(deps, type, id)) : await loadCurrent(deps, type, id));
  if (!record || record.deleted || !record.resource) return undefined;
  return { record, resource: (await resourceOf(deps, record)) as T };
}

/** Decodes a record of the hold view once, for every request that reads it (read-only results: `decodeOnce`). */
export const decodeHeld = (deps: PipelineDeps): ((record: StoredRecord) => Promise<Resource>) => decodeOnce((r) => resourceOf(deps, r));

/**
 * Current resources of `type` (or of any of several types) matching `filter` (unrestricted: a rule
 * sees what the requester may not, as a database constraint does), with the request's transaction's
 * staged versions of these types in their place (all of them: the caller checks each).
 */
export async function findLive<T extends Resource>(deps: PipelineDeps, request: FhirRequest, type: string | readonly string[], filter: Filter): Promise<T[]> {
  const types = typeof type === 'string' ? [type] : type;
  return liveFrom<T>(deps, request, types, await findCurrent(deps, types, filter));
}

/** The store's current, not deleted records of `types` matching `filter`. */
export function findCurrent(deps: PipelineDeps, types: readonly string[], filter: Filter): Promise<StoredRecord[]> {
  return deps.store.find('current', { resourceType: types.length === 1 ? types[0] : { $in: [...types] }, deleted: false, $and: [filter] });
}

/**
 * `records` (current ones of `types`) as the request sees them: decoded (by `decode`, e.g. a
 * cache), with the request's transaction's staged versions of these types in their place (as `findLive`).
 */
export async function liveFrom<T extends Resource>(
  deps: PipelineDeps,
  request: FhirRequest,
  types: readonly string[],
  records: readonly StoredRecord[],
  decode: (record: StoredRecord) => Promise<Resource> = (record) => resourceOf(deps, record),
): Promise<T[]> {
  const found = new Map<string, T>();
  for (const record of records) {
    if (request.unit?.staged(record.resourceType, record.id)) continue;
    found.set(`${record.resourceType}/${record.id}`, (await decode(record)) as T);
  }
  for (const op of request.unit?.ops ?? []) {
    const staged = op.record;
    if (types.includes(staged.resourceType) && !staged.deleted && staged.resource && request.unit?.staged(staged.resourceType, staged.id) === staged) {
      found.set(`${staged.resourceType}/${staged.id}`, (await resourceOf(deps, staged)) as T);
    }
  }
  return [...found.values()];
}

/**
 * Statuses the rules set on what they derive (issue 17): codes of the element's required value set
 * (medicationrequest-status, slotstatus), and no invariant of these types or of FhirGate's profiles
 * reads `status` (test/workflow/derived-writes.test.ts proves both against the real validator). So a
 * derived write that sets one of them on a live version, validated when stored, is valid without
 * validating the unchanged content again (`WriteIntent.derivedFrom`).
 */
export const DERIVED_STATUSES: Readonly<Record<string, readonly string[]>> = {
  MedicationRequest: ['completed'],
  Slot: ['busy', 'free'],
};

/**
 * A write the rules derive (a prescription completed, a slot busy, or the same version again, which
 * carries a prescription's running total): a new version on top of the one read, with `status` when
 * given, so the commit fails when someone else changed it meanwhile. Within a transaction that
 * already writes the resource, it replaces that write and keeps its precondition (`WriteUnit.stageDerived`).
 */
export async function deriveWrite(deps: PipelineDeps, request: FhirRequest, read: Read<Resource>, status?: string): Promise<WriteOp> {
  const { resourceType, id } = read.record;
  const expected = request.unit?.expectedOf(resourceType, id);
  const base = expected === undefined ? read.record : { ...read.record, versionId: expected, lastUpdated: new Date(Date.parse(read.record.lastUpdated) - 1).toISOString() };
  const resource = status === undefined ? read.resource : ({ ...read.resource, status } as Resource);
  // A status the table does not vouch for is validated with everything else, as any write.
  // Its search values are those of the version read, `status` aside (derived-index.ts).
  const vouched = status === undefined || DERIVED_STATUSES[resourceType]?.includes(status);
  const derivedFrom = vouched ? { base: read.resource, elements: ['status'], index: derivedIndex(deps.searchIndex, read.record, read.resource, status) } : undefined;
  const op = withHolds((await prepareWrite(deps, { resourceType, id, resource, current: base, derivedFrom })).op, resource);
  noteDerived(op.record);
  // The same status on the stored version read (not a transaction's staged one), and the same hold keys: its search values
  // stay as they are (a prescription's running total, the only other change, is kept out of them: dispense-tally.ts UNSEARCHED_KEYS).
  const same = expected === undefined && derivedFrom?.index !== undefined && (status === undefined || status === (read.resource as { status?: unknown }).status);
  return same && sameHolds(op.record, read.record) ? { ...op, sameSearchValues: true } : op;
}

/** Whether the caller is a person signed in with a FhirGate role (not a backend service such as the HL7 v2 feed). */
export function isPerson(request: FhirRequest): boolean {
  return (request.context.roles ?? []).length > 0;
}
