import { decideAccess } from '../auth/access.js';
import { FhirError } from '../fhir/errors.js';
import type { AccessScope } from '../fhir/exchange.js';
import type { RequestContext } from '../fhir/request.js';
import { emptyConsentNote } from '../consent/types.js';
import { accessFilter } from '../search/access-filter.js';
import { compartmentFilter } from '../search/compartment.js';
import type { Filter, StoredRecord } from '../store/port.js';
import type { ExportDeps } from './deps.js';
import type { ExportLevel } from './job.js';

/** The audit trail is not the patient's record (as for $everything): patient and group exports leave it out. */
const NOT_THE_RECORD = new Set(['AuditEvent']);
const PAGE = 500;
// Patients whose compartments one query covers: a bounded `$in` per reference parameter.
const PATIENT_BATCH = 200;

/**
 * The context a type is read under: the requester's grant decided for that type, exactly as the
 * pipeline's authorization step decides it for a search (compartment, query-restricted scopes).
 * Throws FhirError `forbidden` when no granted scope and role permit searching and reading it.
 */
export function contextFor(context: RequestContext, type: string): AccessScope {
  const access = decideAccess(context, type, 's');
  decideAccess(context, type, 'r');
  // A search of the type, as the pipeline would run it; the consent gate notes on `consent` which Consents withheld data.
  return { request: { interaction: 'search-type', resourceType: type, params: {}, context }, access, consent: emptyConsentNote() };
}

/** The types a kick-off exports: `_type`, or every type of the level the token grants. Refuses a named type it does not grant. */
export function typesToExport(deps: ExportDeps, context: RequestContext, level: ExportLevel, requested: readonly string[] | undefined): string[] {
  const ofLevel = (t: string): boolean => level === 'system' || (deps.patientCompartment.members.has(t) && !NOT_THE_RECORD.has(t));
  if (requested) {
    const outside = requested.filter((t) => !ofLevel(t));
    if (outside.length > 0) throw new FhirError('bad-request', `A ${level}-level export covers the Patient compartment; not ${outside.slice(0, 5).join(', ')}`);
    for (const t of requested) contextFor(context, t);
    return [...requested];
  }
  const granted = deps.registry.types.filter((t) => {
    if (!ofLevel(t)) return false;
    try {
      contextFor(context, t);
      return true;
    } catch {
      return false;
    }
  });
  if (granted.length === 0) throw new FhirError('forbidden', 'No granted scope permits exporting any resource type');
  return granted;
}

/**
 * Reads every record matching `filter` (one type), page by page in id order, by keyset (no skip):
 * concurrent writes shift nothing. `stop` is asked between pages.
 */
async function* pages(deps: ExportDeps, filter: Filter, stop: () => boolean): AsyncGenerator<StoredRecord> {
  let after: string | undefined;
  for (;;) {
    if (stop()) return;
    const scoped = after === undefined ? filter : { $and: [filter, { id: { $gt: after } }] };
    const found = await deps.store.find('current', scoped, { sort: { id: 1 }, limit: PAGE });
    yield* found;
    if (found.length < PAGE) return;
    after = found[found.length - 1].id;
  }
}

/** The Patient ids a patient-level export covers: every Patient the requester may see (their own only, for a patient). */
export async function visiblePatients(deps: ExportDeps, context: RequestContext, stop: () => boolean): Promise<string[]> {
  const typed = contextFor(context, 'Patient');
  const granted = await accessFilter(deps, typed, 'Patient');
  const ids: string[] = [];
  for await (const record of pages(deps, { $and: [{ resourceType: 'Patient', deleted: false }, ...(granted ? [granted] : [])] }, stop)) ids.push(record.id);
  return ids;
}

/**
 * The records of one type an export holds: current, not deleted, changed since `_since`, within
 * what authorization and the patients' Consents let the requester see (`accessFilter`, the filter
 * every search applies), and for patient and group exports in the given patients' compartments.
 * `typed` is the requester's grant for the type (`contextFor`): the consent gate notes on it which Consents withheld data.
 */
export async function* recordsOf(deps: ExportDeps, typed: AccessScope, type: string, since: string | undefined, patients: readonly string[] | undefined, stop: () => boolean): AsyncGenerator<StoredRecord> {
  const granted = await accessFilter(deps, typed, type);
  const base: Filter[] = [{ resourceType: type, deleted: false }, ...(since ? [{ lastUpdated: { $gte: since } }] : []), ...(granted ? [granted] : [])];
  if (!patients) {
    yield* pages(deps, { $and: base }, stop);
    return;
  }
  // A resource naming patients of two batches is found twice: written once.
  const seen = patients.length > PATIENT_BATCH ? new Set<string>() : undefined;
  for (let i = 0; i < patients.length; i += PATIENT_BATCH) {
    const inclusion = compartmentFilter(deps.patientCompartment, deps.searchIndex, patients.slice(i, i + PATIENT_BATCH), type);
    if (!inclusion) return;
    for await (const record of pages(deps, { $and: [...base, inclusion] }, stop)) {
      if (seen?.has(record.id)) continue;
      seen?.add(record.id);
      yield record;
    }
  }
}

const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * The patients of a Group export (export.html#endpoint---group-of-patients): the Group's active
 * members that are Patients. The Group must exist and its type be granted to the requester (404 otherwise).
 */
export async function groupPatients(deps: ExportDeps, context: RequestContext, id: string): Promise<string[]> {
  // The Group is read under the requester's grant but not under the members' Consents: one member
  // withholding from the requester would otherwise withhold the whole Group (it names them) and fail
  // the export of everyone else. That member's data is still withheld, type by type, in `recordsOf`.
  const granted = await accessFilter({ ...deps, consent: undefined }, contextFor(context, 'Group'), 'Group');
  const [record] = await deps.store.find('current', { $and: [{ resourceType: 'Group', id, deleted: false }, ...(granted ? [granted] : [])] }, { limit: 1 });
  if (!record?.resource) throw new FhirError('not-found', `Group/${id} is not known`);
  const group = (await deps.codec.decode(record.resource)) as { member?: Array<{ entity?: { reference?: string }; inactive?: boolean }> };
  const ids = new Set<string>();
  for (const member of group.member ?? []) {
    const match = member.inactive ? null : PATIENT_REFERENCE.exec(member.entity?.reference ?? '');
    if (match) ids.add(match[1]);
  }
  return [...ids];
}
