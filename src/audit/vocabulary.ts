import type { AuditEventAgent, Coding } from '@medplum/fhirtypes';

/** DICOM audit vocabulary (IHE ATNA / BALP), used by every kind of AuditEvent FhirGate records. */
export const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

/** Type of the event of an HL7 v2 message's transaction: data received from another system. */
export const IMPORT: Coding = { system: DCM, code: '110107', display: 'Import' };

/** The client application taking part in an event (DCM 110150), by its client id. */
export function applicationAgent(clientId: string, requestor: boolean, extra: Partial<AuditEventAgent> = {}): AuditEventAgent {
  return { type: { coding: [{ system: DCM, code: '110150', display: 'Application' }] }, requestor, who: { display: clientId }, ...extra };
}
