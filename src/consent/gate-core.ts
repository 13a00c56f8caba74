import type { Resource } from '@medplum/fhirtypes';
import type { StorageCodec } from '../fhir/codec.js';
import type { FhirError } from '../fhir/errors.js';
import type { Exchange } from '../fhir/exchange.js';
import { interactionOf } from '../fhir/interactions/table.js';
import type { FhirRequest, RequestContext } from '../fhir/request.js';
import { ownersOf, widenedCompartment, type Compartment } from '../search/compartment.js';
import type { SearchIndex } from '../search/types.js';
import type { StorePort } from '../store/port.js';
import { createAffiliations } from './affiliations.js';
import { createConsentDirectory, type ConsentDirectory } from './directory.js';
import { actionsOf } from './question.js';
import { createSearchRestriction } from './search-restriction.js';
import type { ConsentDecision, ConsentDefault, ConsentNote, ConsentQuestion } from './types.js';
import { withheldError } from './withheld.js';

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
  /** The served resource types (the registry's), for the widened compartment; default: the compartment's members. */
  types?: readonly string[];
  clock: () => Date;
  settings: ConsentSettings;
}

/**
 * Who asks, as Consents see them: the patient they are (who always reaches their own record) and
 * every reference a `provision.actor` may name them by: their fhirUser, and the PractitionerRoles
 * and Organizations they act for (`affiliations.ts`, issue 21). Found once per request.
 */
export interface Requester {
  self?: string;
  actor: readonly string[];
}

/** What every part of the consent step shares: its dependencies, the Consents in force, and the small decisions all of them make. */
export interface GateCore {
  deps: ConsentGateDeps;
  directory: ConsentDirectory;
  restriction: ReturnType<typeof createSearchRestriction>;
  /** The patients whose data a resource is (the compartment widened to every reference to a Patient, `widenedCompartment`, issue 15). */
  patientsOf(resource: Resource): string[];
  /** The same without the requester: a patient's own Consents never keep them from their own record. */
  patientsDeciding(resource: Resource, self: string | undefined): string[];
  /** Undefined when the actor is not subject to Consents at all (a backend service, by default). */
  subject(context: RequestContext): Promise<Requester | undefined>;
  /** The question `who` asks by this request (undefined: a search's, decided before any data), without data. */
  question(context: RequestContext, request: FhirRequest | undefined, who: Requester): ConsentQuestion;
  /** Break-glass (issue 8): a practitioner stating emergency treatment, where the deployment allows it. */
  mayBreakGlass(context: RequestContext): boolean;
  /** Applies a decision, break-glass included, and notes what decided on the exchange for its audit record. */
  enforce(ex: Exchange, decision: ConsentDecision): boolean;
  denied(request: FhirRequest, what: string): FhirError;
  /** Whether the requester reviews `type` whatever patients withheld (oversight). */
  oversees(context: RequestContext, type: string): boolean;
  /** A version of a resource as stored (history), decoded; the newest live one without `versionId`. */
  versionOf(type: string, id: string, versionId?: number): Promise<Resource | undefined>;
}

const BREAK_GLASS_PURPOSE = 'ETREAT';
/**
 * Oversight: the audit trail is not the patient's clinical record, and the people who review it
 * (the admin role) must see every access, break-glass above all, whatever a patient withheld.
 */
const OVERSIGHT: Readonly<Record<string, readonly string[]>> = { admin: ['AuditEvent'] };

// What each interaction asks of consent is a column of the interaction table (`ConsentMode`):
// `patient` decides on the whole record first; `target` on the resource named by id before running
// (writes must not happen, an instance history is answered as a read would be); `body` on what a
// write would store (no one writes into the record of a patient who denies them).
export const modeOf = (request: FhirRequest) => interactionOf(request.interaction).consent;
export const decidesTarget = (request: FhirRequest): boolean => modeOf(request).startsWith('target');
export const decidesBody = (request: FhirRequest): boolean => modeOf(request).endsWith('body');

/** Adds what decided to a note (the exchange's: issue 16, no side table keyed by the context). */
export function noteConsents(note: ConsentNote, consents: readonly string[]): void {
  for (const c of consents) if (!note.consents.includes(c)) note.consents.push(c);
}

export function createGateCore(deps: ConsentGateDeps): GateCore {
  const directory = createConsentDirectory(deps);
  const affiliations = createAffiliations(deps);
  const compartment = widenedCompartment(deps.patientCompartment, deps.searchIndex, deps.types ?? [...deps.patientCompartment.members.keys()]);
  const patientsOf = (resource: Resource): string[] => ownersOf(compartment, deps.searchIndex, resource);
  const patientsDeciding = (resource: Resource, self: string | undefined): string[] => patientsOf(resource).filter((p) => p !== self);
  const restriction = createSearchRestriction({ ...deps, patientCompartment: compartment, patientsDeciding, directory, defaultPolicy: deps.settings.defaultPolicy });
  const mayBreakGlass = (context: RequestContext): boolean =>
    deps.settings.breakGlass && rolesOf(context).includes('practitioner') && context.purposeOfUse.includes(BREAK_GLASS_PURPOSE);
  return {
    deps,
    directory,
    restriction,
    patientsOf,
    patientsDeciding,
    async subject(context) {
      if (rolesOf(context).length === 0 && !deps.settings.appliesToSystem) return undefined;
      const self = context.actor?.startsWith('Patient/') ? context.actor.slice('Patient/'.length) : undefined;
      const actor = context.actor ? [context.actor, ...(await affiliations.of(context.actor, deps.clock()))] : [];
      return { ...(self ? { self } : {}), actor };
    },
    question(context, request, who) {
      return {
        actor: who.actor,
        roles: rolesOf(context),
        actions: request ? actionsOf(request.interaction) : ['access'],
        purposeOfUse: context.purposeOfUse,
        data: {},
        now: deps.clock(),
      };
    },
    mayBreakGlass,
    enforce(ex, decision) {
      // The audit trail names the Consent that decided, permit (opt-in grants) or deny.
      if (decision.consent) noteConsents(ex.consent, [decision.consent]);
      if (decision.decision === 'permit') return true;
      if (!mayBreakGlass(ex.request.context)) return false;
      ex.consent.breakGlass = true;
      return true;
    },
    denied: (request, what) => withheldError(request, what, deps.settings.deniedReadStatus),
    oversees: (context, type) => rolesOf(context).some((role) => OVERSIGHT[role]?.includes(type)),
    async versionOf(type, id, versionId) {
      const filter = versionId === undefined ? { resourceType: type, id, deleted: false } : { resourceType: type, id, versionId };
      const [record] = await deps.store.find('history', filter, { limit: 1, sort: { versionId: -1 } });
      return record?.resource ? deps.codec.decode(record.resource) : undefined;
    },
  };
}

/** Who wrote or asks, as `authority.ts` decides on it. */
export const authorOf = (context: RequestContext) => ({ roles: rolesOf(context), ...(context.actor ? { actor: context.actor } : {}) });

/**
 * The FhirGate roles of the requester (`src/auth/roles.ts`), as the token granted them. Contexts the
 * deployment builds for its own systems (the HL7 v2 feed: `role: 'system'`) carry none, which makes
 * them backend services here as in authorization.
 */
export function rolesOf(context: RequestContext): readonly string[] {
  return context.roles ?? [];
}
