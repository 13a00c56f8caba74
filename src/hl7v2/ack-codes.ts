import type { ErrorCode } from '../fhir/errors.js';

/**
 * The one place FhirGate's error codes become HL7 acknowledgement codes (MSA-1, table 0008) and
 * ERR-3 error codes (table 0357). `AE`: the message was understood but could not be applied and
 * should not be resent unchanged; `AR`: rejected for reasons the sender may retry or must fix at
 * its end (security, temporary unavailability). Kept next to `http/status.ts`'s HTTP mapping.
 * Table 0357 has no code for a refused authorization or an unavailable store: those keep 207, and
 * every ACK of a FhirError also names the FhirError code in ERR-5 (application error code, issue 19),
 * so a permission refusal is not read as an internal error.
 */
export const HL7_ACK: Readonly<Record<ErrorCode, { ack: 'AE' | 'AR'; hl7Error: number }>> = {
  'bad-request': { ack: 'AE', hl7Error: 207 },
  'invalid-json': { ack: 'AE', hl7Error: 207 },
  'invalid-structure': { ack: 'AE', hl7Error: 102 },
  'invalid-resource': { ack: 'AE', hl7Error: 207 },
  'invalid-id': { ack: 'AE', hl7Error: 102 },
  'id-mismatch': { ack: 'AE', hl7Error: 207 },
  'type-mismatch': { ack: 'AE', hl7Error: 207 },
  'unknown-type': { ack: 'AR', hl7Error: 200 },
  'unknown-route': { ack: 'AR', hl7Error: 200 },
  'not-found': { ack: 'AE', hl7Error: 204 },
  gone: { ack: 'AE', hl7Error: 204 },
  'method-not-allowed': { ack: 'AR', hl7Error: 200 },
  'not-supported': { ack: 'AR', hl7Error: 200 },
  'unsupported-media-type': { ack: 'AR', hl7Error: 207 },
  'not-acceptable': { ack: 'AR', hl7Error: 207 },
  'payload-too-large': { ack: 'AR', hl7Error: 207 },
  'headers-too-large': { ack: 'AR', hl7Error: 207 },
  'precondition-failed': { ack: 'AE', hl7Error: 207 },
  'version-conflict': { ack: 'AR', hl7Error: 206 },
  'patch-failed': { ack: 'AE', hl7Error: 207 },
  'missing-version': { ack: 'AE', hl7Error: 207 },
  'prescription-not-found': { ack: 'AE', hl7Error: 204 },
  'prescription-not-active': { ack: 'AE', hl7Error: 207 },
  'prescription-mismatch': { ack: 'AE', hl7Error: 207 },
  'prescription-exhausted': { ack: 'AE', hl7Error: 207 },
  'prescription-expired': { ack: 'AE', hl7Error: 207 },
  'requester-mismatch': { ack: 'AE', hl7Error: 207 },
  'slot-not-found': { ack: 'AE', hl7Error: 204 },
  'slot-unavailable': { ack: 'AE', hl7Error: 207 },
  'slot-mismatch': { ack: 'AE', hl7Error: 207 },
  'appointment-overlap': { ack: 'AE', hl7Error: 207 },
  unauthorized: { ack: 'AR', hl7Error: 207 },
  forbidden: { ack: 'AR', hl7Error: 207 },
  'store-unavailable': { ack: 'AR', hl7Error: 207 },
  internal: { ack: 'AE', hl7Error: 207 },
};
