import type { AuditEventAgent, AuditEventEntity, Coding } from '@medplum/fhirtypes';
import type { InboundMessage } from '../fhir/request.js';

/**
 * The parts of an AuditEvent that say it was caused by an HL7 v2 message. The message's
 * transaction is an Import (DCM 110107, as IHE ATNA records data received from another system);
 * every event of the message names the message type and event (v2 tables 0076 and 0003), the
 * message control id (MSH-10) and the sending application and facility (MSH-3, MSH-4).
 */

/** Where a sender's message control ids live: they are unique per sending application and facility only. */
export const CONTROL_ID_SYSTEM = 'urn:fhirgate:hl7v2:message-control-id';

export function messageSubtypes(message: InboundMessage): Coding[] {
  return [
    { system: 'http://terminology.hl7.org/CodeSystem/v2-0076', code: message.messageCode },
    ...(message.triggerEvent ? [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0003', code: message.triggerEvent }] : []),
  ];
}

/** The sending application (MSH-3 at MSH-4), at the peer's network address. */
export function messageAgent(message: InboundMessage, address: string | undefined): AuditEventAgent {
  return {
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'datacollector', display: 'data collector' }] },
    requestor: false,
    who: { identifier: { system: 'urn:fhirgate:hl7v2:sender', value: `${message.sendingApplication}^${message.sendingFacility}` }, display: `${message.sendingApplication} at ${message.sendingFacility}` },
    ...(address ? { network: { address, type: '2' as const } } : {}),
  };
}

/** The message itself, by control id (never its content). */
export function messageEntity(message: InboundMessage): AuditEventEntity {
  const type = [message.messageCode, message.triggerEvent].filter(Boolean).join('^');
  return {
    what: { identifier: { system: CONTROL_ID_SYSTEM, value: message.controlId } },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
    name: `HL7 v2 ${type} message ${message.controlId}`,
    description: `HL7 v${message.version} ${type} from ${message.sendingApplication} at ${message.sendingFacility}, MSH-10 ${message.controlId}`,
  };
}
