import type { AuditEvent, AuditEventAgent, AuditEventEntity, AuditEventSource, Bundle, Resource } from '@medplum/fhirtypes';
import type { ConsentNote } from '../consent/types.js';
import { patientsNamedBy } from '../search/compartment.js';
import type { RequestContext } from '../fhir/request.js';
import type { AuditEntry } from './audit-sink.js';
import { messageAgent, messageEntity, messageSubtypes } from './inbound-message.js';
import { applicationAgent, DCM, ENTITY_TYPE, failureOf, IMPORT, outcomeOf, patientEntity, REST_OPERATION } from './vocabulary.js';

/** Extension URLs FhirGate puts on its AuditEvents. */
export const CHAIN_EXTENSION = 'https://fhirgate.dev/fhir/StructureDefinition/audit-chain';
export const BREAK_GLASS_EXTENSION = 'https://fhirgate.dev/fhir/StructureDefinition/break-glass';
/** Extensions only the server sets: a client-submitted resource carrying one would forge the chain or a break-glass flag. */
export const SERVER_EXTENSIONS: ReadonlySet<string> = new Set([CHAIN_EXTENSION, BREAK_GLASS_EXTENSION]);

// Entities listed for one search or history page: enough to say who saw what, bounded.
const MAX_ENTITIES = 200;
// A literal relative reference (`Practitioner/123`); other actors (an HL7 sender) are named by display.
const RELATIVE_REFERENCE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;

/** `AuditEvent.source` of every event this server records. */
export function sourceOf(observer: string): AuditEventSource {
  return { observer: { display: observer }, type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }] };
}

/**
 * The AuditEvent of one interaction, after IHE Basic Audit Log Patterns (BALP, RESTful activity):
 * type `rest` with the interaction as subtype, the requesting agent (fhirUser or client, role,
 * network address) and the client application, the resources touched as entities (type/id/version,
 * never content), the outcome, the purpose of use, the Consents that decided and a break-glass flag.
 * The transaction of an HL7 v2 message is an Import (DCM 110107) naming the message (inbound-message.ts).
 * @param written the plaintext of `entry.written`, for the patients whose data was written
 */
export function auditEventOf(entry: AuditEntry, note: ConsentNote | undefined, observer: string, recorded: string, written: readonly Resource[] = []): AuditEvent {
  const { request, error } = entry;
  const ctx = request.context;
  const purposes = ctx.purposeOfUse.map((code) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code }] }));
  const message = ctx.inboundMessage;
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    type: message && request.interaction === 'transaction' ? IMPORT : REST_OPERATION,
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: request.interaction }, ...(message ? messageSubtypes(message) : [])],
    action: entry.action ?? 'E',
    recorded,
    ...outcomeOf(error ? failureOf(error) : undefined),
    ...(purposes.length > 0 ? { purposeOfEvent: purposes } : {}),
    agent: [...requestingAgents(ctx), ...(message ? [messageAgent(message, ctx.source)] : [])],
    source: sourceOf(observer),
    entity: [
      ...entitiesOf(entry, written),
      ...(message ? [messageEntity(message)] : []),
      ...(note?.consents ?? []).map((c): AuditEventEntity => ({ what: { reference: c }, description: 'Consent that decided' })),
    ],
    ...(note?.breakGlass ? { extension: [{ url: BREAK_GLASS_EXTENSION, valueBoolean: true }] } : {}),
  };
  if (ctx.requestId) event.entity!.push({ what: { identifier: { value: ctx.requestId } }, description: 'X-Request-Id' });
  return event;
}

/** Who asked, as every event of a request names them: the requesting agent (fhirUser, token subject, roles, purpose of use, network address) and the client application. */
export function requestingAgents(ctx: Caller): AuditEventAgent[] {
  const purposes = (ctx.purposeOfUse ?? []).map((code) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code }] }));
  return [
    {
      type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
      requestor: true,
      ...whoOf(ctx),
      ...(ctx.subject ? { altId: ctx.subject } : {}),
      ...((ctx.roles ?? []).length > 0 ? { role: (ctx.roles ?? []).map((r) => ({ coding: [{ system: 'https://fhirgate.dev/fhir/CodeSystem/role', code: r }] })) } : {}),
      ...(purposes.length > 0 ? { purposeOfUse: purposes } : {}),
      ...(ctx.source ? { network: { address: ctx.source, type: '2' as const } } : {}),
    },
    ...(ctx.clientId ? [applicationAgent(ctx.clientId, false)] : []),
  ];
}

/** What the agents of an event are built from: a request's context, or the verified token of a caller of a door beside the pipeline. */
export type Caller = Pick<RequestContext, 'actor' | 'clientId' | 'subject' | 'roles' | 'source'> & { purposeOfUse?: readonly string[] };

function whoOf(ctx: Caller): Pick<AuditEventAgent, 'who'> {
  if (ctx.actor) return { who: RELATIVE_REFERENCE.test(ctx.actor) ? { reference: ctx.actor } : { display: ctx.actor } };
  return ctx.clientId ? { who: { display: ctx.clientId } } : {};
}

function entitiesOf({ request, result, written: records }: AuditEntry, written: readonly Resource[]): AuditEventEntity[] {
  const entities: AuditEventEntity[] = [];
  const seen = new Set<string>();
  const add = (reference: string, patient: boolean): void => {
    if (seen.has(reference) || entities.length >= MAX_ENTITIES) return;
    seen.add(reference);
    entities.push(patient ? patientEntity(reference) : { what: { reference }, type: { system: ENTITY_TYPE, code: '2' } });
  };
  const version = result?.version;
  // A write recorded with its commit names every version it wrote (a conditional delete may write several).
  for (const r of records ?? []) add(`${r.resourceType}/${r.id}/_history/${r.versionId}`, r.resourceType === 'Patient');
  if (version) add(`${version.resourceType}/${version.id}/_history/${version.versionId}`, version.resourceType === 'Patient');
  else if (!records?.length && request.resourceType && request.id) add(`${request.resourceType}/${request.id}${request.versionId ? `/_history/${request.versionId}` : ''}`, request.resourceType === 'Patient');
  const resource = result?.resource;
  const touched: Resource[] = [];
  if (resource?.resourceType === 'Bundle') for (const e of (resource as Bundle).entry ?? []) if (e.resource && e.resource.resourceType !== 'OperationOutcome') touched.push(e.resource);
  // A Patient among the results is the patient entity itself (as a Patient written is), version and all.
  for (const r of touched) add(refOf(r), r.resourceType === 'Patient');
  /*
   * The patients whose data it was, so `AuditEvent?patient=` answers "who looked at my record". A
   * patient already named above (`Patient/x/_history/n`) is not named again: the R4 `patient`
   * parameter reads `entity.what` of any Patient reference, and a versioned literal reference is
   * indexed as the resource it points at (search/index/extract-reference.ts), so the versioned
   * entity finds the event. Patients only named indirectly (a MedicationRequest's subject) are
   * named plainly. Issue 14: a search page of 20 Patients named each twice (41 entities).
   */
  const named = new Set(entities.map((e) => patientOf(e.what?.reference)).filter((p): p is string => p !== undefined));
  const patients = new Set<string>();
  for (const r of [...(resource && resource.resourceType !== 'Bundle' ? [resource] : []), ...touched, ...written]) for (const p of patientsNamedBy(r)) patients.add(p);
  if ((request.interaction === 'everything' || request.interaction === 'search-compartment') && request.id) patients.add(request.id);
  for (const patient of patients) if (!named.has(patient)) add(`Patient/${patient}`, true);
  return entities;
}

function refOf(resource: Resource): string {
  return `${resource.resourceType}/${resource.id}${resource.meta?.versionId ? `/_history/${resource.meta.versionId}` : ''}`;
}

const PATIENT_REFERENCE = /^Patient\/([^/]+)(?:\/_history\/[^/]+)?$/;

/** The id of the Patient a relative reference names, with or without a version. */
function patientOf(reference: string | undefined): string | undefined {
  return reference === undefined ? undefined : PATIENT_REFERENCE.exec(reference)?.[1];
}
