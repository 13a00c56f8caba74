import type { AuditEventAgent, AuditEventEntity, Coding } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { HTTP_STATUS } from '../http/status.js';

/** DICOM audit vocabulary (IHE ATNA / BALP), used by every kind of AuditEvent FhirGate records. */
export const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

/** Type of the event of an HL7 v2 message's transaction: data received from another system. */
export const IMPORT: Coding = { system: DCM, code: '110107', display: 'Import' };

/** Type of the event of a RESTful interaction (audit-event-type `rest`). */
export const REST_OPERATION: Coding = { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' };

/** System of `AuditEvent.entity.type`: `1` a person, `2` a system object. */
export const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';

/** The entity naming a Patient whose data the event is about (role Patient), which `AuditEvent?patient=` finds. */
export function patientEntity(reference: string): AuditEventEntity {
  return {
    what: { reference },
    type: { system: ENTITY_TYPE, code: '1' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
  };
}

/** The client application taking part in an event (DCM 110150), by its client id. */
export function applicationAgent(clientId: string, requestor: boolean, extra: Partial<AuditEventAgent> = {}): AuditEventAgent {
  return { type: { coding: [{ system: DCM, code: '110150', display: 'Application' }] }, requestor, who: { display: clientId }, ...extra };
}

/**
 * How a refused or failed run is recorded, by every door alike: FhirGate's error code, and whether
 * the server failed, which is what an HTTP status of 500 or more says (`http/status.ts`); anything
 * that is not a FhirError is the server's own failure.
 */
export function failureOf(err: unknown): { code: string; server: boolean } {
  if (err instanceof FhirError) return { code: err.code, server: HTTP_STATUS[err.code] >= 500 };
  return { code: 'internal', server: true };
}

/**
 * `AuditEvent.outcome` (and `outcomeDesc`) of a run: `0` done; `4` refused or failed with `code`;
 * `8` when the server failed (`server`), as the pipeline records FHIR interactions.
 */
export function outcomeOf(failure?: { code: string; server?: boolean }): { outcome: '0' | '4' | '8'; outcomeDesc?: string } {
  if (!failure) return { outcome: '0' };
  return { outcome: failure.server ? '8' : '4', outcomeDesc: failure.code };
}

/** The entity naming the request (`X-Request-Id`), so `AuditEvent?entity:identifier=<id>` finds its event. */
export function requestIdEntity(requestId: string): AuditEventEntity {
  return { what: { identifier: { value: requestId } }, description: 'X-Request-Id' };
}
