import type { AuditEventEntity } from '@medplum/fhirtypes';
import type { AuditEventDraft } from './audit-sink.js';
import { requestingAgents, type Caller } from './audit-event.js';
import { ENTITY_TYPE, outcomeOf, patientEntity, requestIdEntity, REST_OPERATION } from './vocabulary.js';

/** Codes of `AuditEvent.subtype` naming an access to the HL7 v2 message archive: `read`, `list`, `replay`. */
export const ARCHIVE_ACCESS = 'https://fhirgate.dev/fhir/CodeSystem/hl7v2-archive-access';
/** Where archived messages are named, by the archive's id of the message (`GET /hl7/messages/{id}`). */
export const ARCHIVED_MESSAGE = 'urn:fhirgate:hl7v2:archived-message';

const INTERACTION = { read: 'read', list: 'search', replay: 'operation' } as const;
// As for a FHIR search: enough to say who saw what, bounded.
const MAX_ENTITIES = 200;

/** One request to the HL7 v2 message archive (`/hl7/messages`), as its one AuditEvent names it. */
export interface ArchiveAccess {
  access: keyof typeof INTERACTION;
  caller: Caller;
  requestId?: string;
  /** The messages returned (or asked for, when refused): the archive's id, and what the archive knows of them. */
  messages: ReadonlyArray<{ id: string; messageType?: string; controlId?: string; resources?: readonly string[] }>;
  /** The FhirGate error code when refused or failed; `server`: the server failed. Absent when done. */
  failure?: { code: string; server?: boolean };
}

/**
 * The AuditEvent of an access to the HL7 v2 archive, which holds raw messages (names, MRNs): type
 * `rest`, subtype the interaction (`read`, `search`, `operation`) and the access
 * (`ARCHIVE_ACCESS`), the caller as requesting agent with their client, and as entities each
 * message (by `urn:fhirgate:hl7v2:archived-message` id and its type and MSH-10, never its text),
 * the Patients the message wrote (as the archive recorded them, so `AuditEvent?patient=` finds
 * who read a patient's messages), and the request id.
 */
export function archiveAccessEventOf(event: ArchiveAccess): AuditEventDraft {
  const entity: AuditEventEntity[] = [];
  const patients = new Set<string>();
  for (const message of event.messages.slice(0, MAX_ENTITIES)) {
    const type = message.messageType ? `${message.messageType} ` : '';
    entity.push({
      what: { identifier: { system: ARCHIVED_MESSAGE, value: message.id } },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      name: `HL7 v2 ${type}message${message.controlId ? ` ${message.controlId}` : ''}`.slice(0, 200),
    });
    for (const written of message.resources ?? []) if (written.startsWith('Patient/')) patients.add(written);
  }
  for (const patient of [...patients].slice(0, MAX_ENTITIES)) entity.push(patientEntity(patient));
  if (event.requestId) entity.push(requestIdEntity(event.requestId));
  return {
    resourceType: 'AuditEvent',
    type: REST_OPERATION,
    subtype: [
      { system: 'http://hl7.org/fhir/restful-interaction', code: INTERACTION[event.access] },
      { system: ARCHIVE_ACCESS, code: event.access },
    ],
    action: event.access === 'read' ? 'R' : 'E',
    ...outcomeOf(event.failure),
    agent: requestingAgents(event.caller),
    ...(entity.length > 0 ? { entity } : {}),
  };
}
