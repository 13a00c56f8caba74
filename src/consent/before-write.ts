import type { Consent, Resource } from '@medplum/fhirtypes';
import type { Exchange } from '../fhir/exchange.js';
import { FhirError } from '../fhir/errors.js';
import type { FhirRequest } from '../fhir/request.js';
import { consentWriteRefusal } from './authority.js';
import { decideOnResource } from './evaluate.js';
import { authorOf, decidesBody, rolesOf, type GateCore, type Requester } from './gate-core.js';

/** Decisions before a write is stored: what it would store, and who may write a Consent at all. */

/** Whether a patient exists (a transaction's staged writes included). */
export async function patientExists(core: GateCore, ex: Exchange, id: string): Promise<boolean> {
  const staged = ex.unit?.staged('Patient', id);
  if (staged) return !staged.deleted;
  return (await core.deps.store.find('current', { resourceType: 'Patient', id, deleted: false }, { limit: 1 })).length > 0;
}

/**
 * What a create or update would store, decided before it is. A write naming a withheld patient is
 * refused as one naming a patient that does not exist (with CONSENT_DENIED_READ_STATUS=404 both
 * are `Patient/x is not known`), so writing is no way to learn who withholds what (issue 15).
 */
export async function checkIncoming(core: GateCore, ex: Exchange, incoming: Resource, who: Requester): Promise<void> {
  const request = ex.request;
  if (core.oversees(request.context, incoming.resourceType)) return;
  const own = incoming.resourceType === 'Patient' ? incoming.id : undefined;
  const patients = core.patientsDeciding(incoming, who.self).filter((p) => p !== own);
  if (core.deps.settings.deniedReadStatus === 404) {
    for (const p of patients) if (!(await patientExists(core, ex, p))) throw core.denied(request, `Patient/${p}`);
  }
  const deciding = core.patientsDeciding(incoming, who.self);
  if (deciding.length === 0) return;
  const consents = await core.directory.forPatients(deciding, core.deps.clock());
  const decisions = decideOnResource(incoming, deciding, consents, core.question(request.context, request, who), core.deps.settings.defaultPolicy);
  const refused = decisions.findIndex((d) => !core.enforce(ex, d));
  if (refused >= 0) throw core.denied(request, `Patient/${deciding[refused]}`);
}

/**
 * Who may write a Consent (`authority.ts`), decided before whether the patient's Consents let
 * the writer in: the answer depends only on the writer and the Consent, never on the patient's data.
 */
export async function checkConsentAuthority(core: GateCore, ex: Exchange): Promise<void> {
  const request = ex.request;
  if (request.resourceType !== 'Consent' || !CONSENT_WRITES.has(request.interaction) || rolesOf(request.context).length === 0) return;
  if (request.id === undefined && request.interaction !== 'create') {
    throw new FhirError('forbidden', 'A Consent is changed or withdrawn by its id, not by search criteria');
  }
  if (request.interaction === 'patch') throw new FhirError('forbidden', 'A Consent is changed with PUT of the whole Consent, not with PATCH');
  const record = request.id === undefined || request.interaction === 'create' ? undefined : await ex.records.current('Consent', request.id);
  const before = record && !record.deleted ? ((await ex.records.resource(record)) as Consent) : undefined;
  const body = request.body as Consent | undefined;
  const after = request.interaction === 'delete' ? undefined : body && typeof body === 'object' ? body : undefined;
  if (request.interaction === 'delete' && !before) return;
  const refusal = consentWriteRefusal(authorOf(request.context), before, after);
  if (refusal) throw new FhirError('forbidden', refusal);
}

const CONSENT_WRITES = new Set(['create', 'update', 'patch', 'delete']);

/**
 * The resource a create or update is about to store, as consent sees it. A proposed Consent is
 * an access request (issue 8), which asks for nothing to be disclosed yet: not decided.
 */
export function incomingResource(request: FhirRequest): Resource | undefined {
  if (!decidesBody(request)) return undefined;
  const body = request.body as Resource | undefined;
  if (!body || typeof body !== 'object' || typeof body.resourceType !== 'string') return undefined;
  if (body.resourceType === 'Consent' && (body as { status?: string }).status === 'proposed') return undefined;
  return { ...body, ...(request.id !== undefined ? { id: request.id } : {}) } as Resource;
}
