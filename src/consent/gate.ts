import type { Bundle, Consent, Resource } from '@medplum/fhirtypes';
import type { ResultCheck } from '../auth/authorize.js';
import type { StorageCodec } from '../fhir/codec.js';
import { FhirError } from '../fhir/errors.js';
import type { FhirRequest, RequestContext } from '../fhir/request.js';
import type { Compartment } from '../search/compartment.js';
import type { SearchIndex } from '../search/types.js';
import type { Filter, StorePort } from '../store/port.js';
import { isConsentInForce } from './applicable.js';
import { evaluateConsents } from './evaluate.js';
import { actionsOf, dataOf } from './question.js';
import { patientsOf, patientExclusion, patientInclusion } from './scope.js';
import type { ConsentData, ConsentDecision, ConsentDefault, ConsentQuestion } from './types.js';

/** Deployment settings (CONSENT_DEFAULT, CONSENT_DENIED_READ_STATUS, CONSENT_APPLIES_TO_SYSTEM, CONSENT_BREAK_GLASS). */
export interface ConsentSettings {
  defaultPolicy: ConsentDefault;
  deniedReadStatus: 403 | 404;
  appliesToSystem: boolean;
  breakGlass: boolean;
}

export interface ConsentGateDeps {
  store: StorePort;
  codec: StorageCodec;
  searchIndex: SearchIndex;
  patientCompartment: Compartment;
  clock: () => Date;
  settings: ConsentSettings;
}

/** What the gate noted about one request, for the audit trail. */
export interface ConsentNote {
  breakGlass: boolean;
  /** `Consent/id`s that decided a deny (or a break-glass override). */
  consents: string[];
}

export interface ConsentGate {
  /** Pipeline step after authorization: checks targets known up front; returns a check of what the interaction returns. */
  check(request: FhirRequest): Promise<ResultCheck | undefined>;
  /** A search filter on `type` excluding (opt-out) or limiting to (opt-in) the compartments the actor may see; undefined when unrestricted. */
  searchFilter(context: RequestContext, type: string): Promise<Filter | undefined>;
  /** What the gate noted about a request (break-glass, deciding Consents), for audit. */
  noteOf(context: RequestContext): ConsentNote | undefined;
}

const PATIENT_LEVEL = new Set(['everything', 'search-compartment']);
// Targets decided before the interaction runs: writes must not happen, an instance history is answered as a read would be.
const TARGETS_BY_ID = new Set(['update', 'patch', 'delete', 'history-instance']);
const BREAK_GLASS_PURPOSE = 'ETREAT';

/**
 * The consent step of the pipeline (README "Consent and audit"): every access to data in a
 * patient's compartment is decided against that patient's Consents in force, read from the store
 * on every request, so a revocation takes effect on the next one (nothing is cached).
 */
export function createConsentGate(deps: ConsentGateDeps): ConsentGate {
  const notes = new WeakMap<RequestContext, ConsentNote>();
  const noteOn = (context: RequestContext): ConsentNote => {
    let note = notes.get(context);
    if (!note) notes.set(context, (note = { breakGlass: false, consents: [] }));
    return note;
  };

  async function consentsOf(patients?: readonly string[]): Promise<Map<string, Consent[]>> {
    const filter: Filter = { resourceType: 'Consent', deleted: false };
    if (patients) Object.assign(filter, deps.searchIndex.compileReferenceIn('Consent', 'patient', patients.map((p) => `Patient/${p}`)));
    const records = await deps.store.find('current', filter);
    const now = deps.clock();
    const byPatient = new Map<string, Consent[]>();
    for (const record of records) {
      const consent = (await deps.codec.decode(record.resource!)) as Consent;
      const patient = consent.patient?.reference;
      if (!patient?.startsWith('Patient/') || !isConsentInForce(consent, patient, now)) continue;
      const id = patient.slice('Patient/'.length);
      byPatient.set(id, [...(byPatient.get(id) ?? []), consent]);
    }
    return byPatient;
  }

  /** Undefined when the actor is not subject to Consents at all (backend service, or break-glass). */
  function subject(context: RequestContext): { self?: string } | undefined {
    const roles = context.roles ?? (context.role ? [context.role] : []);
    if (roles.length === 0 && !deps.settings.appliesToSystem) return undefined;
    const self = context.actor?.startsWith('Patient/') ? context.actor.slice('Patient/'.length) : undefined;
    return { ...(self ? { self } : {}) };
  }

  function question(context: RequestContext, request: FhirRequest | undefined, data: ConsentData): ConsentQuestion {
    return {
      actor: context.actor ? [context.actor] : [],
      roles: context.roles ?? (context.role ? [context.role] : []),
      actions: request ? actionsOf(request.interaction) : ['access'],
      purposeOfUse: context.purposeOfUse,
      data,
      now: deps.clock(),
    };
  }

  /** Applies break-glass to a deny: a practitioner with ETREAT goes through, flagged. */
  function enforce(context: RequestContext, decision: ConsentDecision): boolean {
    if (decision.decision === 'permit') return true;
    const note = noteOn(context);
    if (decision.consent) note.consents.push(decision.consent);
    const roles = context.roles ?? [];
    if (deps.settings.breakGlass && roles.includes('practitioner') && context.purposeOfUse.includes(BREAK_GLASS_PURPOSE)) {
      note.breakGlass = true;
      return true;
    }
    return false;
  }

  function denied(what: string): FhirError {
    return deps.settings.deniedReadStatus === 404
      ? new FhirError('not-found', `${what} is not known`)
      : new FhirError('forbidden', `${what} is withheld by the patient's consent`);
  }

  async function decideResource(request: FhirRequest, resource: Resource, who: { self?: string }, byPatient?: Map<string, Consent[]>): Promise<boolean> {
    const patients = patientsOf(resource).filter((p) => p !== who.self);
    if (patients.length === 0) return true;
    const consents = byPatient ?? (await consentsOf(patients));
    const data = dataOf(resource);
    return patients.every((p) => enforce(request.context, evaluateConsents(consents.get(p) ?? [], question(request.context, request, data), { defaultPolicy: deps.settings.defaultPolicy })));
  }

  async function checkResult(request: FhirRequest, who: { self?: string }, result: Awaited<ReturnType<ResultCheck>>) {
    const resource = result.resource;
    if (!resource || resource.resourceType === 'OperationOutcome') return result;
    if (resource.resourceType !== 'Bundle' || ['create', 'update'].includes(request.interaction)) {
      if (!(await decideResource(request, resource, who))) throw denied(`${resource.resourceType}/${resource.id}`);
      return result;
    }
    const bundle = resource as Bundle;
    const searchLike = request.interaction.startsWith('search') || request.interaction === 'everything';
    const candidates = (bundle.entry ?? []).filter((e) => e.resource && (!searchLike || e.search?.mode === 'include')).map((e) => e.resource!);
    const patients = [...new Set(candidates.flatMap(patientsOf))];
    if (patients.length === 0) return result;
    const byPatient = await consentsOf(patients);
    const keep = new Set<Resource>();
    for (const r of candidates) if (await decideResource(request, r, who, byPatient)) keep.add(r);
    const entry = bundle.entry?.filter((e) => !e.resource || !candidates.includes(e.resource) || keep.has(e.resource));
    return { ...result, resource: { ...bundle, ...(entry ? { entry } : {}) } };
  }

  return {
    async check(request) {
      if (request.interaction === 'capabilities' || request.interaction === 'transaction' || request.interaction === 'batch') return undefined;
      const who = subject(request.context);
      if (!who) return undefined;
      if (PATIENT_LEVEL.has(request.interaction) && request.id !== undefined && request.id !== who.self) {
        const consents = (await consentsOf([request.id])).get(request.id) ?? [];
        const data = request.compartmentTarget ? { resourceType: request.compartmentTarget } : {};
        const decision = evaluateConsents(consents, question(request.context, request, data), { defaultPolicy: deps.settings.defaultPolicy, unknownData: 'conservative' });
        if (!enforce(request.context, decision)) throw denied(`Patient/${request.id}`);
      }
      if (TARGETS_BY_ID.has(request.interaction) && request.id !== undefined && request.resourceType) {
        const [record] = await deps.store.find('current', { resourceType: request.resourceType, id: request.id, deleted: false }, { limit: 1 });
        if (record && !(await decideResource(request, await deps.codec.decode(record.resource!), who))) throw denied(`${request.resourceType}/${request.id}`);
      }
      return (result) => checkResult(request, who, result);
    },

    async searchFilter(context, type) {
      const who = subject(context);
      if (!who || !deps.patientCompartment.members.has(type)) return undefined;
      const byPatient = await consentsOf();
      const q = question(context, undefined, { resourceType: type });
      const options = { defaultPolicy: deps.settings.defaultPolicy, unknownData: 'conservative' as const };
      const breakGlass = deps.settings.breakGlass && (context.roles ?? []).includes('practitioner') && context.purposeOfUse.includes(BREAK_GLASS_PURPOSE);
      const deniedIds: string[] = [];
      const permittedIds: string[] = who.self ? [who.self] : [];
      for (const [patient, consents] of byPatient) {
        if (patient === who.self) continue;
        const decision = evaluateConsents(consents, q, options);
        if (decision.decision === 'permit') permittedIds.push(patient);
        else if (breakGlass) enforce(context, decision);
        else deniedIds.push(patient);
      }
      if (breakGlass) return undefined;
      if (deps.settings.defaultPolicy === 'opt-in') return patientInclusion(deps.patientCompartment, deps.searchIndex, permittedIds, type);
      return deniedIds.length === 0 ? undefined : patientExclusion(deps.patientCompartment, deps.searchIndex, deniedIds, type);
    },

    noteOf: (context) => notes.get(context),
  };
}
