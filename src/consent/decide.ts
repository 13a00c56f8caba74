import type { Bundle, Consent, Resource } from '@medplum/fhirtypes';
import type { ResultCheck } from '../auth/authorize.js';
import type { Exchange } from '../fhir/exchange.js';
import { consentReadable } from './authority.js';
import type { ConsentsByPatient } from './directory.js';
import { classifyConsents, decideOnResource } from './evaluate.js';
import { authorOf, decidesBody, rolesOf, type GateCore, type Requester } from './gate-core.js';

/** Decisions on resources and results (README "Consent and audit"): what a requester may see of a patient's data. */

/** Whether the requester may see `resource`: every patient it belongs to (but the requester) permits it, break-glass aside. */
export async function decideResource(core: GateCore, ex: Exchange, resource: Resource, who: Requester, byPatient?: ConsentsByPatient): Promise<boolean> {
  const request = ex.request;
  if (core.oversees(request.context, resource.resourceType)) return true;
  if (resource.resourceType === 'Consent' && rolesOf(request.context).length > 0 && !consentReadable(authorOf(request.context), resource as Consent)) return false;
  const patients = core.patientsDeciding(resource, who.self);
  if (patients.length === 0) return true;
  const consents = byPatient ?? (await core.directory.forPatients(patients, core.deps.clock()));
  const decisions = decideOnResource(resource, patients, consents, core.question(request.context, request, who), core.deps.settings.defaultPolicy);
  return decisions.every((d) => core.enforce(ex, d));
}

/** What an interaction returns, as the requester may see it: a withheld resource is refused, withheld entries of a Bundle left out. */
export async function checkResult(core: GateCore, ex: Exchange, who: Requester, result: Awaited<ReturnType<ResultCheck>>) {
  const request = ex.request;
  // A conditional read answered 304 must not confirm a withheld resource (issue 15): decided on the version it names.
  if (result.kind === 'not-modified' && result.version) {
    const { resourceType, id, versionId } = result.version;
    const version = await core.versionOf(resourceType, id, Number(versionId));
    if (version && !(await decideResource(core, ex, version, who))) throw core.denied(request, `${resourceType}/${id}`);
    return result;
  }
  const resource = result.resource;
  // Writes were decided on their content before they were stored (`check`).
  if (!resource || resource.resourceType === 'OperationOutcome' || decidesBody(request) || request.interaction === 'patch') return result;
  if (resource.resourceType !== 'Bundle') {
    if (!(await decideResource(core, ex, resource, who))) throw core.denied(request, `${resource.resourceType}/${resource.id}`);
    return result;
  }
  // Search matches were filtered by the store (searchFilter); what remains to decide are includes, and every entry of a history.
  const bundle = resource as Bundle;
  const searchLike = request.interaction.startsWith('search') || request.interaction === 'everything';
  const candidates = (bundle.entry ?? []).filter((e) => e.resource && (!searchLike || e.search?.mode === 'include')).map((e) => e.resource!);
  const patients = [...new Set(candidates.flatMap(core.patientsOf))];
  if (patients.length === 0) return result;
  const byPatient = await core.directory.forPatients(patients, core.deps.clock());
  const keep = new Set<Resource>();
  for (const r of candidates) if (await decideResource(core, ex, r, who, byPatient)) keep.add(r);
  // An instance history is answered as a read: one withheld version withholds the resource (deleted or not).
  if (request.interaction === 'history-instance' && keep.size < candidates.length) throw core.denied(request, `${request.resourceType}/${request.id}`);
  const entry = bundle.entry?.filter((e) => !e.resource || !candidates.includes(e.resource) || keep.has(e.resource));
  return { ...result, resource: { ...bundle, ...(entry ? { entry } : {}) } };
}

/** A whole patient's data (compartment search, $everything): refused only when every resource would be. */
export async function checkPatientLevel(core: GateCore, ex: Exchange, who: Requester): Promise<void> {
  const request = ex.request;
  const patient = request.id!;
  const consents = (await core.directory.forPatients([patient], core.deps.clock())).get(patient) ?? [];
  // Decided on the whole record, whatever the type: a patient who withholds only some types gets a filtered (maybe empty) search, not a 404 that contradicts a readable Patient.
  const answer = classifyConsents(consents, core.question(request.context, request, who), core.deps.settings.defaultPolicy);
  if (answer.kind === 'decided' && !core.enforce(ex, answer.decision)) throw core.denied(request, `Patient/${patient}`);
}

