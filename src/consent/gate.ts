import type { Bundle, Consent, Resource } from '@medplum/fhirtypes';
import type { ResultCheck } from '../auth/authorize.js';
import type { StorageCodec } from '../fhir/codec.js';
import { FhirError } from '../fhir/errors.js';
import type { Exchange } from '../fhir/exchange.js';
import { interactionOf } from '../fhir/interactions/table.js';
import type { FhirRequest, FhirResult, RequestContext } from '../fhir/request.js';
import type { Compartment } from '../search/compartment.js';
import type { SearchIndex } from '../search/types.js';
import type { Filter, StorePort } from '../store/port.js';
import { consentReadable, consentReadsConfinedTo, consentWriteRefusal } from './authority.js';
import { createConsentDirectory, type ConsentsByPatient } from './directory.js';
import { classifyConsents, decideOnResource } from './evaluate.js';
import { actionsOf } from './question.js';
import { consentCompartment, patientsIn } from './scope.js';
import { createSearchRestriction } from './search-restriction.js';
import { assertOwnAuditQuery, auditSearch, patientView } from './audit-view.js';
import { withheldDelete, withheldError } from './withheld.js';
import type { ConsentData, ConsentDecision, ConsentDefault, ConsentNote, ConsentQuestion } from './types.js';

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
  /** The served resource types (the registry's), for `consentCompartment`; default: the compartment's members. */
  types?: readonly string[];
  clock: () => Date;
  settings: ConsentSettings;
}

export interface ConsentGate {
  /**
   * Pipeline step after authorization: checks targets known up front; returns a check of what the
   * interaction returns, or the answer to give instead of running it (a withheld delete).
   */
  check(exchange: Exchange): Promise<ResultCheck | { answer: FhirResult } | undefined>;
  /** An error of the interaction as the requester may see it: a 410 of a withheld resource becomes its 404. */
  checkError(exchange: Exchange, error: FhirError): Promise<FhirError>;
  /**
   * A search filter on `type` excluding (opt-out) or limiting to (opt-in) the compartments the actor
   * may see; undefined when unrestricted. What decided is noted on `note` (the exchange's), for audit.
   */
  searchFilter(context: RequestContext, type: string, note: ConsentNote): Promise<Filter | undefined>;
}

// What each interaction asks of consent is a column of the interaction table (`ConsentMode`):
// `patient` decides on the whole record first; `target` on the resource named by id before running
// (writes must not happen, an instance history is answered as a read would be); `body` on what a
// write would store (no one writes into the record of a patient who denies them).
const modeOf = (request: FhirRequest) => interactionOf(request.interaction).consent;
const decidesTarget = (request: FhirRequest): boolean => modeOf(request).startsWith('target');
const decidesBody = (request: FhirRequest): boolean => modeOf(request).endsWith('body');
const BREAK_GLASS_PURPOSE = 'ETREAT';
/**
 * Oversight: the audit trail is not the patient's clinical record, and the people who review it
 * (the admin role) must see every access, break-glass above all, whatever a patient withheld.
 */
const OVERSIGHT: Readonly<Record<string, readonly string[]>> = { admin: ['AuditEvent'] };

/**
 * The consent step of the pipeline (README "Consent and audit"): every access to data in a
 * patient's compartment is decided against that patient's Consents in force. Consents are kept
 * decoded until the next Consent write (`directory.ts`), so a revocation takes effect on the next
 * request; searches get their restriction as a filter (`search-restriction.ts`).
 */
export function createConsentGate(deps: ConsentGateDeps): ConsentGate {
  const directory = createConsentDirectory(deps);
  const compartment = consentCompartment(deps.patientCompartment, deps.searchIndex, deps.types ?? [...deps.patientCompartment.members.keys()]);
  const patientsOf = (resource: Resource): string[] => patientsIn(compartment, deps.searchIndex, resource);
  const patientsDeciding = (resource: Resource, self: string | undefined): string[] => patientsOf(resource).filter((p) => p !== self);
  const restriction = createSearchRestriction({ ...deps, patientCompartment: compartment, patientsDeciding, directory, defaultPolicy: deps.settings.defaultPolicy });
  // What decided is noted on the exchange's note (issue 16: no side table keyed by the context).
  const noteConsents = (note: ConsentNote, consents: readonly string[]): void => {
    for (const c of consents) if (!note.consents.includes(c)) note.consents.push(c);
  };

  /** Undefined when the actor is not subject to Consents at all (a backend service, by default). */
  function subject(context: RequestContext): { self?: string } | undefined {
    if (rolesOf(context).length === 0 && !deps.settings.appliesToSystem) return undefined;
    const self = context.actor?.startsWith('Patient/') ? context.actor.slice('Patient/'.length) : undefined;
    return { ...(self ? { self } : {}) };
  }

  function question(context: RequestContext, request: FhirRequest | undefined, data: ConsentData): ConsentQuestion {
    return {
      actor: context.actor ? [context.actor] : [],
      roles: rolesOf(context),
      actions: request ? actionsOf(request.interaction) : ['access'],
      purposeOfUse: context.purposeOfUse,
      data,
      now: deps.clock(),
    };
  }

  /** Break-glass (issue 8): a practitioner stating emergency treatment, where the deployment allows it. */
  const mayBreakGlass = (context: RequestContext): boolean =>
    deps.settings.breakGlass && rolesOf(context).includes('practitioner') && context.purposeOfUse.includes(BREAK_GLASS_PURPOSE);

  /** Applies break-glass to a deny: a practitioner with ETREAT goes through, flagged. */
  function enforce(ex: Exchange, decision: ConsentDecision): boolean {
    // The audit trail names the Consent that decided, permit (opt-in grants) or deny.
    if (decision.consent) noteConsents(ex.consent, [decision.consent]);
    if (decision.decision === 'permit') return true;
    if (!mayBreakGlass(ex.request.context)) return false;
    ex.consent.breakGlass = true;
    return true;
  }

  const denied = (request: FhirRequest, what: string): FhirError => withheldError(request, what, deps.settings.deniedReadStatus);

  /** A version of a resource as stored (history), decoded; the newest live one without `versionId`. */
  async function versionOf(type: string, id: string, versionId?: number): Promise<Resource | undefined> {
    const filter = versionId === undefined ? { resourceType: type, id, deleted: false } : { resourceType: type, id, versionId };
    const [record] = await deps.store.find('history', filter, { limit: 1, sort: { versionId: -1 } });
    return record?.resource ? deps.codec.decode(record.resource) : undefined;
  }

  /** Whether a patient exists (a transaction's staged writes included). */
  async function patientExists(ex: Exchange, id: string): Promise<boolean> {
    const staged = ex.unit?.staged('Patient', id);
    if (staged) return !staged.deleted;
    return (await deps.store.find('current', { resourceType: 'Patient', id, deleted: false }, { limit: 1 })).length > 0;
  }

  /**
   * What a create or update would store, decided before it is. A write naming a withheld patient is
   * refused as one naming a patient that does not exist (with CONSENT_DENIED_READ_STATUS=404 both
   * are `Patient/x is not known`), so writing is no way to learn who withholds what (issue 15).
   */
  async function checkIncoming(ex: Exchange, incoming: Resource, who: { self?: string }): Promise<void> {
    const request = ex.request;
    if (oversees(request.context, incoming.resourceType)) return;
    const own = incoming.resourceType === 'Patient' ? incoming.id : undefined;
    const patients = patientsDeciding(incoming, who.self).filter((p) => p !== own);
    if (deps.settings.deniedReadStatus === 404) {
      for (const p of patients) if (!(await patientExists(ex, p))) throw denied(request, `Patient/${p}`);
    }
    const deciding = patientsDeciding(incoming, who.self);
    if (deciding.length === 0) return;
    const consents = await directory.forPatients(deciding, deps.clock());
    const decisions = decideOnResource(incoming, deciding, consents, question(request.context, request, {}), deps.settings.defaultPolicy);
    const refused = decisions.findIndex((d) => !enforce(ex, d));
    if (refused >= 0) throw denied(request, `Patient/${deciding[refused]}`);
  }

  const oversees = (context: RequestContext, type: string): boolean => rolesOf(context).some((role) => OVERSIGHT[role]?.includes(type));

  async function decideResource(ex: Exchange, resource: Resource, who: { self?: string }, byPatient?: ConsentsByPatient): Promise<boolean> {
    const request = ex.request;
    if (oversees(request.context, resource.resourceType)) return true;
    if (resource.resourceType === 'Consent' && rolesOf(request.context).length > 0 && !consentReadable(authorOf(request.context), resource as Consent)) return false;
    const patients = patientsDeciding(resource, who.self);
    if (patients.length === 0) return true;
    const consents = byPatient ?? (await directory.forPatients(patients, deps.clock()));
    const decisions = decideOnResource(resource, patients, consents, question(request.context, request, {}), deps.settings.defaultPolicy);
    return decisions.every((d) => enforce(ex, d));
  }

  async function checkResult(ex: Exchange, who: { self?: string }, result: Awaited<ReturnType<ResultCheck>>) {
    const request = ex.request;
    // A conditional read answered 304 must not confirm a withheld resource (issue 15): decided on the version it names.
    if (result.kind === 'not-modified' && result.version) {
      const { resourceType, id, versionId } = result.version;
      const version = await versionOf(resourceType, id, Number(versionId));
      if (version && !(await decideResource(ex, version, who))) throw denied(request, `${resourceType}/${id}`);
      return result;
    }
    const resource = result.resource;
    // Writes were decided on their content before they were stored (`check`).
    if (!resource || resource.resourceType === 'OperationOutcome' || decidesBody(request) || request.interaction === 'patch') return result;
    if (resource.resourceType !== 'Bundle') {
      if (!(await decideResource(ex, resource, who))) throw denied(request, `${resource.resourceType}/${resource.id}`);
      return result;
    }
    // Search matches were filtered by the store (searchFilter); what remains to decide are includes, and every entry of a history.
    const bundle = resource as Bundle;
    const searchLike = request.interaction.startsWith('search') || request.interaction === 'everything';
    const candidates = (bundle.entry ?? []).filter((e) => e.resource && (!searchLike || e.search?.mode === 'include')).map((e) => e.resource!);
    const patients = [...new Set(candidates.flatMap(patientsOf))];
    if (patients.length === 0) return result;
    const byPatient = await directory.forPatients(patients, deps.clock());
    const keep = new Set<Resource>();
    for (const r of candidates) if (await decideResource(ex, r, who, byPatient)) keep.add(r);
    // An instance history is answered as a read: one withheld version withholds the resource (deleted or not).
    if (request.interaction === 'history-instance' && keep.size < candidates.length) throw denied(request, `${request.resourceType}/${request.id}`);
    const entry = bundle.entry?.filter((e) => !e.resource || !candidates.includes(e.resource) || keep.has(e.resource));
    return { ...result, resource: { ...bundle, ...(entry ? { entry } : {}) } };
  }

  /** A whole patient's data (compartment search, $everything): refused only when every resource would be. */
  async function checkPatientLevel(ex: Exchange): Promise<void> {
    const request = ex.request;
    const patient = request.id!;
    const consents = (await directory.forPatients([patient], deps.clock())).get(patient) ?? [];
    // Decided on the whole record, whatever the type: a patient who withholds only some types gets a filtered (maybe empty) search, not a 404 that contradicts a readable Patient.
    const answer = classifyConsents(consents, question(request.context, request, {}), deps.settings.defaultPolicy);
    if (answer.kind === 'decided' && !enforce(ex, answer.decision)) throw denied(request, `Patient/${patient}`);
  }

  /**
   * Who may write a Consent (`authority.ts`), decided before whether the patient's Consents let
   * the writer in: the answer depends only on the writer and the Consent, never on the patient's data.
   */
  async function checkConsentAuthority(ex: Exchange): Promise<void> {
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

  return {
    async check(ex) {
      const request = ex.request;
      if (modeOf(request) === 'none') return undefined;
      await checkConsentAuthority(ex);
      const who = subject(request.context);
      if (!who) return undefined;
      if (modeOf(request) === 'patient' && request.id !== undefined && request.id !== who.self) await checkPatientLevel(ex);
      if (decidesTarget(request) && request.id !== undefined && request.resourceType) {
        // Through the exchange's loader: what authorization loaded is not read again, and the interaction reuses it (issue 14).
        const record = await ex.records.current(request.resourceType, request.id);
        if (record && !record.deleted && !(await decideResource(ex, await ex.records.resource(record), who))) {
          // Deleting what is withheld is answered as deleting what does not exist (delete.ts).
          if (request.interaction === 'delete') return { answer: withheldDelete(request, deps.settings.deniedReadStatus) };
          throw denied(request, `${request.resourceType}/${request.id}`);
        }
      }
      const incoming = incomingResource(request);
      if (incoming) await checkIncoming(ex, incoming, who);
      if (who.self && auditSearch(request) && !oversees(request.context, 'AuditEvent')) assertOwnAuditQuery(request.params, who.self);
      return async (result) => patientView(who, await checkResult(ex, who, result));
    },

    async checkError(ex, error) {
      const request = ex.request;
      // A deleted resource (read: 410) or a deletion version (vread: 410) is decided on its last live version, so 410 never confirms a withheld one.
      if (error.code !== 'gone' || (request.interaction !== 'read' && request.interaction !== 'vread') || !request.resourceType || !request.id) return error;
      const who = subject(request.context);
      if (!who) return error;
      const last = await versionOf(request.resourceType, request.id);
      return last && !(await decideResource(ex, last, who)) ? denied(request, `${request.resourceType}/${request.id}`) : error;
    },

    async searchFilter(context, type, note) {
      const who = subject(context);
      if (!who || oversees(context, type)) return undefined;
      const requests = type === 'Consent' ? consentReadsConfinedTo(authorOf(context)) : undefined;
      const own = requests === undefined ? undefined : deps.searchIndex.compileReferenceIn('Consent', 'actor', [requests]);
      const filter = await patientFilter(context, note, who, type);
      return own && filter ? { $and: [own, filter] } : (own ?? filter);
    },

  };

  /** What the patients' Consents withhold of `type` from this searcher (break-glass lifts it, flagged). */
  async function patientFilter(context: RequestContext, note: ConsentNote, who: { self?: string }, type: string): Promise<Filter | undefined> {
    const found = await restriction.restrict({ question: question(context, undefined, {}), ...who }, type, deps.clock());
    noteConsents(note, found.denying);
    if (found.filter && mayBreakGlass(context)) {
      note.breakGlass = true;
      return undefined;
    }
    return found.filter;
  }
}

const CONSENT_WRITES = new Set(['create', 'update', 'patch', 'delete']);

const authorOf = (context: RequestContext) => ({ roles: rolesOf(context), ...(context.actor ? { actor: context.actor } : {}) });

/**
 * The FhirGate roles of the requester (`src/auth/roles.ts`), as the token granted them. Contexts the
 * deployment builds for its own systems (the HL7 v2 feed: `role: 'system'`) carry none, which makes
 * them backend services here as in authorization.
 */
function rolesOf(context: RequestContext): readonly string[] {
  return context.roles ?? [];
}

/**
 * The resource a create or update is about to store, as consent sees it. A proposed Consent is
 * an access request (issue 8), which asks for nothing to be disclosed yet: not decided.
 */
function incomingResource(request: FhirRequest): Resource | undefined {
  if (!decidesBody(request)) return undefined;
  const body = request.body as Resource | undefined;
  if (!body || typeof body !== 'object' || typeof body.resourceType !== 'string') return undefined;
  if (body.resourceType === 'Consent' && (body as { status?: string }).status === 'proposed') return undefined;
  return { ...body, ...(request.id !== undefined ? { id: request.id } : {}) } as Resource;
}
