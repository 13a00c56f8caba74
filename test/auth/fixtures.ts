import type { Resource } from '@medplum/fhirtypes';
import type { FhirClient } from '../support/fhir-client.js';

/** Minimal valid resources of every served type, linked to a patient where the type can be. */
export const fixtures = {
  patient: (id: string): Resource => ({ resourceType: 'Patient', id, name: [{ family: `Family-${id}` }] }),
  practitioner: (id: string): Resource => ({ resourceType: 'Practitioner', id, name: [{ family: 'Welby' }] }),
  medicationRequest: (id: string, patient: string, status = 'active'): Resource => ({
    resourceType: 'MedicationRequest',
    id,
    status: status as 'active',
    intent: 'order',
    medicationCodeableConcept: { text: 'amoxicillin 500 mg' },
    subject: { reference: `Patient/${patient}` },
  }),
  medicationDispense: (id: string, patient: string): Resource => ({
    resourceType: 'MedicationDispense',
    id,
    // Not yet handed over: a completed dispense needs a prescription with fills left (issue 17, test/workflow/).
    status: 'preparation',
    medicationCodeableConcept: { text: 'amoxicillin 500 mg' },
    subject: { reference: `Patient/${patient}` },
  }),
  consent: (id: string, patient: string): Resource => ({
    resourceType: 'Consent',
    id,
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patient}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  }),
  appointment: (id: string, patient: string): Resource => ({
    resourceType: 'Appointment',
    id,
    status: 'proposed',
    participant: [{ actor: { reference: `Patient/${patient}` }, status: 'needs-action' }],
  }),
  auditEvent: (id: string, patient: string): Resource => ({
    resourceType: 'AuditEvent',
    id,
    type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110' },
    recorded: '2024-01-01T00:00:00Z',
    agent: [{ requestor: true, who: { reference: `Patient/${patient}` } }],
    source: { observer: { display: 'test' } },
  }),
};

/** One resource of each served type for `patient`, ids prefixed with `prefix`. */
export function recordOf(patient: string, prefix = patient): Resource[] {
  return [
    fixtures.patient(patient),
    fixtures.medicationRequest(`${prefix}-mr`, patient),
    fixtures.medicationDispense(`${prefix}-md`, patient),
    fixtures.consent(`${prefix}-consent`, patient),
    fixtures.appointment(`${prefix}-appt`, patient),
    fixtures.auditEvent(`${prefix}-audit`, patient),
  ];
}

/** Stores resources with their ids (update as create; AuditEvents, which cannot be updated, by create) through the full-access client. */
export async function seed(fhir: FhirClient, resources: readonly Resource[]): Promise<Resource[]> {
  const stored: Resource[] = [];
  for (const resource of resources) {
    const res = resource.resourceType === 'AuditEvent' ? await fhir.post('AuditEvent', resource) : await fhir.put(`${resource.resourceType}/${resource.id}`, resource);
    if (res.status >= 300) throw new Error(`seeding ${resource.resourceType}/${resource.id}: ${res.status} ${res.text}`);
    stored.push(res.body as Resource);
  }
  return stored;
}
