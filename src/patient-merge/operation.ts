import { randomUUID } from 'node:crypto';
import type { Bundle, OperationOutcome, Parameters, ParametersParameter, Patient, Resource } from '@medplum/fhirtypes';
import { decideAccess } from '../auth/access.js';
import { createExchange } from '../fhir/exchange.js';
import { FhirError } from '../fhir/errors.js';
import { booleanInput, inputNamed, operationInput } from '../fhir/operation-parameters.js';
import type { InteractionDeps, PipelineDeps } from '../fhir/pipeline.js';
import type { FhirRequest, FhirResult, RequestContext } from '../fhir/request.js';
import { TransactionBuilder } from '../hl7v2/map/bundle.js';
import { REFERRERS, writeMerge, type ReferrerLookup } from './merge-writes.js';
import { resolvePatient } from './resolve.js';

const OP = 'Patient/$merge';
const replacedBy = (p: Patient): string | undefined => p.link?.find((l) => l.type === 'replaced-by')?.other?.reference;

/**
 * `Patient/$merge` (R5 patient-merge, served on R4; README "Patient matching and merge"): the
 * writes of HL7 v2 ADT^A40 (`merge-writes.ts`), in one transaction through the pipeline, so they
 * commit together or not at all and each is audited. `preview` answers what would be written
 * without writing it. Unlike R5, the source's identifiers are not copied to the target: HL7 v2
 * and this server follow `replaced-by` from the source instead, so each identifier keeps naming one Patient.
 */
export async function merge(request: FhirRequest, deps: InteractionDeps): Promise<FhirResult> {
  const input = operationInput(request, OP);
  const source = await resolvePatient(deps, input, 'source');
  const target = await resolvePatient(deps, input, 'target');
  if (source.id === target.id) throw new FhirError('invalid-resource', `${OP}: the source and target are the same Patient/${source.id}`);
  if (replacedBy(target)) throw new FhirError('invalid-resource', `${OP}: the target Patient/${target.id} was itself merged into ${replacedBy(target)}`);
  const earlier = replacedBy(source);
  if (earlier && earlier !== `Patient/${target.id}`) throw new FhirError('invalid-resource', `${OP}: the source Patient/${source.id} was already merged into ${earlier}`);

  const tx = new TransactionBuilder({ uuid: randomUUID });
  const survivor = tx.update({ ...resultPatient(input, target), meta: undefined } as Patient & { id: string }, target.meta?.versionId);
  await writeMerge(tx, referrerLookup(deps), { patient: source }, survivor);
  const bundle = tx.bundle();
  // The survivor's entry holds `urn:uuid:` links until the transaction resolves them; the preview shows them resolved.
  const planned = resolveFullUrls(bundle);
  const moved = planned.filter((r) => r.resourceType !== 'Patient').map((r) => `${r.resourceType}/${r.id}`);
  if (booleanInput(input, 'preview', OP)) {
    const result = planned.find((r) => r.resourceType === 'Patient' && r.id === target.id) as Patient;
    return answer(request, input, await readable(request, deps, result), source.id, target.id, moved, true);
  }
  const response = await deps.execute({ interaction: 'transaction', params: {}, body: bundle, context: writerContext(request.context) });
  const written = ((response.resource as Bundle).entry ?? []).map((e) => e.resource).find((r) => r?.resourceType === 'Patient' && r.id === target.id) as Patient | undefined;
  return answer(request, input, written && (await readable(request, deps, written)), source.id, target.id, moved, false);
}

/** `result-patient`: the target as the client wants it after the merge (its links are the merge's own). */
function resultPatient(input: Parameters, target: Patient & { id: string }): Patient & { id: string } {
  const given = inputNamed(input, 'result-patient', OP)?.resource as Patient | undefined;
  if (!given) return target;
  if (given.resourceType !== 'Patient') throw new FhirError('bad-request', `${OP}: result-patient must be a Patient`);
  if (given.id !== undefined && given.id !== target.id) throw new FhirError('bad-request', `${OP}: result-patient must have the target's id (${target.id})`);
  return { ...given, id: target.id, link: target.link };
}

/** Current resources whose `param` references the source, from the search index (all of them, not a page). */
function referrerLookup(deps: PipelineDeps): ReferrerLookup {
  return async (type, query) => {
    const [param, value] = query.split('=').map(decodeURIComponent);
    if (!deps.registry.has(type)) return [];
    const filter = deps.searchIndex.compile(type, param, undefined, [value]);
    const records = await deps.store.find('current', { $and: [{ resourceType: type, deleted: false }, filter] });
    return Promise.all(records.map((r) => deps.codec.decode(r.resource!) as Promise<Resource>));
  };
}

/**
 * Whom the merge's writes run as: the requester (same actor, client and request id in the audit
 * trail), with the operation's own reach: updates of the Patients and of the types whose
 * references move, which `$merge` was authorized for as a whole (src/auth/operation-access.ts).
 */
function writerContext(context: RequestContext): RequestContext {
  const types = ['Patient', ...REFERRERS.map(([type]) => type)];
  return { ...context, roles: [], scopes: types.map((t) => `system/${t}.ru`) };
}

function resolveFullUrls(bundle: Bundle): Resource[] {
  const ids = new Map((bundle.entry ?? []).map((e) => [e.fullUrl!, `${e.resource!.resourceType}/${(e.resource as Resource).id}`]));
  const json = JSON.stringify((bundle.entry ?? []).map((e) => e.resource));
  return JSON.parse(json.replace(/"urn:uuid:[0-9a-f-]{36}"/g, (m) => JSON.stringify(ids.get(m.slice(1, -1)) ?? m.slice(1, -1)))) as Resource[];
}

/** The output parameters (R5 patient-merge): the input, an outcome saying what was (or would be) done, and the result Patient if readable. */
function answer(request: FhirRequest, input: Parameters, result: Patient | undefined, sourceId: string, targetId: string, moved: string[], preview: boolean): FhirResult {
  const verb = preview ? 'would be' : 'was';
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', diagnostics: `Patient/${sourceId} ${verb} merged into Patient/${targetId}; ${moved.length} reference${moved.length === 1 ? '' : 's'} ${verb === 'was' ? 'moved' : 'would move'}: ${moved.join(', ') || 'none'}` }],
  };
  const parameter: ParametersParameter[] = [
    { name: 'input', resource: input },
    { name: 'outcome', resource: outcome },
    ...(result ? [{ name: 'result', resource: result }] : []),
  ];
  return { kind: 'ok', resource: { resourceType: 'Parameters', parameter } };
}

/**
 * The merged Patient if the requester may read it as a read would: a role reading Patients (admins
 * merge without seeing demographics, role table) and the patient's Consents letting them (the
 * consent gate decides a read of it). Otherwise the answer leaves it out.
 */
async function readable(request: FhirRequest, deps: InteractionDeps, patient: Patient): Promise<Patient | undefined> {
  try {
    decideAccess(request.context, 'Patient', 'r');
    const read: FhirRequest = { interaction: 'read', resourceType: 'Patient', id: patient.id, params: {}, context: request.context };
    const check = await deps.consent?.check(createExchange(deps, read, deps.clock()));
    if (typeof check === 'function') await check({ kind: 'ok', resource: patient });
    return patient;
  } catch (err) {
    if (err instanceof FhirError) return undefined;
    throw err;
  }
}
