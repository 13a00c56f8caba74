import type { MedicationDispense, MedicationRequest, Resource } from '@medplum/fhirtypes';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import type { TestServer } from '../support/server.js';

/** A client with a real token for a user of `role` whose fhirUser is `fhirUser` (user/*.cruds: the role alone decides). */
export async function userClient(server: TestServer, role: string, fhirUser: string): Promise<FhirClient> {
  return fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.cruds', role, fhirUser }) });
}

/** Stores resources under their ids through the backend (system/*.*) client. */
export async function seed(fhir: FhirClient, ...resources: Array<Resource & { id: string }>): Promise<void> {
  for (const r of resources) {
    const res = await fhir.put(`${r.resourceType}/${r.id}`, r);
    if (res.status !== 201 && res.status !== 200) throw new Error(`seeding ${r.resourceType}/${r.id}: ${res.status} ${res.text}`);
  }
}

export const AMOXICILLIN = { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '308182', display: 'Amoxicillin 250 MG Oral Capsule' }] };
export const IBUPROFEN = { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197806', display: 'Ibuprofen 600 MG Oral Tablet' }] };

/** An active prescription for `patient`: `repeats` refills of 30 capsules. */
export function prescription(id: string, patient: string, extra: Partial<MedicationRequest> = {}): MedicationRequest & { id: string } {
  return {
    resourceType: 'MedicationRequest',
    id,
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: AMOXICILLIN,
    subject: { reference: `Patient/${patient}` },
    requester: { reference: 'Practitioner/d1' },
    dispenseRequest: { numberOfRepeatsAllowed: 1, quantity: { value: 30, unit: 'capsule', system: 'http://unitsofmeasure.org', code: '{capsule}' } },
    ...extra,
  };
}

/** A completed dispense of `quantity` capsules against `prescriptionId`. */
export function dispense(prescriptionId: string, patient: string, quantity = 30, extra: Partial<MedicationDispense> = {}): MedicationDispense {
  return {
    resourceType: 'MedicationDispense',
    status: 'completed',
    medicationCodeableConcept: AMOXICILLIN,
    subject: { reference: `Patient/${patient}` },
    authorizingPrescription: [{ reference: `MedicationRequest/${prescriptionId}` }],
    quantity: { value: quantity, unit: 'capsule', system: 'http://unitsofmeasure.org', code: '{capsule}' },
    whenHandedOver: new Date().toISOString(),
    ...extra,
  };
}
