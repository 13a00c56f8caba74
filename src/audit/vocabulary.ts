import type { AuditEventAgent, AuditEventEntity, Coding } from '@medplum/fhirtypes';

/** DICOM audit vocabulary (IHE ATNA / BALP), used by every kind of AuditEvent FhirGate records. */
export const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

/** Type of the event of an HL7 v2 message's transaction: data received from another system. */
export const IMPORT: Coding = { system: DCM, code: '110107', display: 'Import' };

/** The client application taking part in an event (DCM 110150), by its client id. */
export function applicationAgent(clientId: string, requestor: boolean, extra: Partial<AuditEventAgent> = {}): AuditEventAgent {
  return { type: { coding: [{ system: DCM, code: '110150', display: 'Application' }] }, requestor, who: { display: clientId }, ...extra };
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
