import type { OperationOutcome, Resource } from '@medplum/fhirtypes';

/**
 * Who is asking, and why. Every interaction runs with one, even while everything is permitted,
 * so authorization, consent and audit are steps added to the pipeline rather than rewrites.
 * Plain data, never changed once built: what the pipeline's steps decide about a request lives
 * in its exchange (`src/fhir/exchange.ts`), not here (issue 16).
 */
export interface RequestContextData {
  /** Correlates logs, audit records and responses (`X-Request-Id`). */
  requestId: string;
  /** FHIR base URL as clients see it (PUBLIC_URL + /fhir), for Location headers and Bundle links. */
  baseUrl: string;
  /** The authenticated agent, e.g. `Practitioner/123` (fhirUser), or undefined while anonymous. */
  actor?: string;
  /** Role of the agent (admin, practitioner, pharmacist, receptionist, patient, system). */
  role?: string;
  /** OAuth client id of the calling application. */
  clientId?: string;
  /** Granted SMART scopes. */
  scopes: readonly string[];
  /** SMART launch patient, when the token carries one. */
  patient?: string;
  /** Purpose of use codes (v3 PurposeOfUse), from the token or a request header. */
  purposeOfUse: readonly string[];
  /** Where the request came from (IP address or HL7 sender), for audit. */
  source?: string;
  /** Set once a Bearer token was verified (or, for in-process callers such as HL7 v2, by the caller). */
  authenticated?: boolean;
  /** Every role the token grants (`role` is the first); see `src/auth/roles.ts`. */
  roles?: readonly string[];
  /** OAuth subject (`sub`) of the token, for audit. */
  subject?: string;
  /**
   * Set on the transaction of an inbound HL7 v2 message (and so on its entries): what the message
   * was and who sent it, for the AuditEvents (`src/audit/inbound-message.ts`).
   */
  inboundMessage?: InboundMessage;
}

/** An HL7 v2 message as the audit trail names it (MSH-3, -4, -9, -10, -12), read by `src/hl7v2`. */
export interface InboundMessage {
  /** MSH-9.1 and MSH-9.2, e.g. `ADT` and `A01`. */
  messageCode: string;
  triggerEvent: string;
  /** MSH-10. */
  controlId: string;
  /** MSH-3 and MSH-4. */
  sendingApplication: string;
  sendingFacility: string;
  /** MSH-12. */
  version: string;
}

/** The interactions of the REST API (http.html#summary) and the operations built in; an operation added to the table (`interactions/table.ts`) names its own. */
export type CoreInteraction =
  | 'capabilities'
  | 'read'
  | 'vread'
  | 'create'
  | 'update'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'validate'
  | 'search-type'
  | 'search-compartment'
  | 'everything'
  | 'patch'
  | 'history-system'
  | 'transaction'
  | 'batch'
  // Patient matching and merge, reports (issue 18; src/patient-match, src/patient-merge, src/reports).
  | 'match'
  | 'merge'
  | 'report-new-patients'
  | 'report-prescriptions'
  | 'report-dispenses'
  | 'report-appointment-load';

/** Any interaction the table knows: a core one, or an operation's own name. */
export type Interaction = CoreInteraction | (string & {});

/** The `Prefer: return=` choices of the spec (http.html#ops). */
export type PreferReturn = 'minimal' | 'representation' | 'OperationOutcome';

/** The `Prefer: handling=` choices of search (search.html#errors): lenient ignores bad parameters, strict rejects them. */
export type PreferHandling = 'strict' | 'lenient';

/** Who is asking, read-only: no step of the pipeline writes its decisions onto the context. */
export type RequestContext = Readonly<RequestContextData>;

/**
 * A FHIR interaction, free of any HTTP framework: built by the HTTP edge, bundles and the HL7
 * adapter alike. Plain, immutable data (issue 16): a step that needs a different request (a patch
 * checked as the update it amounts to) builds a new one.
 */
export type FhirRequest = Readonly<FhirRequestData>;

export interface FhirRequestData {
  interaction: Interaction;
  resourceType?: string;
  /**
   * The target. Absent on update, patch and delete it makes them conditional (`params` are the
   * criteria, http.html#cond-update). On create it is never the client's: a transaction sets the
   * id it chose in advance, so references can be rewritten before the entry runs.
   */
  id?: string;
  /** Compartment searches (`Patient/[id]/[type]`): the compartment's type and id are resourceType and id; this is the searched type. */
  compartmentTarget?: string;
  versionId?: string;
  /** Query parameters (repeated keys keep every value, in order). */
  params: Record<string, string[]>;
  /** Parsed body: a resource (create, update, validate, transaction, batch), or a patch document (patch). */
  body?: unknown;
  /** Preconditions and preferences (http.html#concurrency, http.html#cread). */
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  /** Conditional create: the search that must not match anything (`If-None-Exist`, http.html#ccreate). */
  ifNoneExist?: string;
  preferReturn?: PreferReturn;
  preferHandling?: PreferHandling;
  context: RequestContext;
}

/** Outcome kinds of a successful interaction; the HTTP edge maps them to 200/201/304. */
export type ResultKind = 'ok' | 'created' | 'not-modified';

export interface FhirResult {
  kind: ResultKind;
  /** The resource to return (the representation, a Bundle, or a CapabilityStatement/OperationOutcome). */
  resource?: Resource;
  /** Informational outcome, returned for `Prefer: return=OperationOutcome`. */
  outcome?: OperationOutcome;
  /** Identity of the written or read version: drives Location, ETag and Last-Modified. */
  version?: { resourceType: string; id: string; versionId: string; lastUpdated: string };
}
