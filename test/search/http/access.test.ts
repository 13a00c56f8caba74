import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient, type FhirClient } from '../../support/fhir-client.js';
import { startServer, type TestServer } from '../../support/server.js';
import { matchIds, put, search } from './support.js';

// Search applies authorization's confinement as a filter, so matches and totals reveal nothing beyond the grant.
let server: TestServer;
let admin: FhirClient;

function request(id: string, patient: string, status: string): Resource & { id: string } {
  return {
    resourceType: 'MedicationRequest',
    id,
    status,
    intent: 'order',
    medicationCodeableConcept: { text: 'aspirin' },
    subject: { reference: `Patient/${patient}` },
  } as Resource & { id: string };
}

beforeAll(async () => {
  server = await startServer();
  admin = fhirClient(server.fhirUrl);
  for (const id of ['acc-a', 'acc-b']) await put(admin, { resourceType: 'Patient', id, name: [{ family: 'Access' }] });
  for (const r of [request('acc-a1', 'acc-a', 'active'), request('acc-a2', 'acc-a', 'completed'), request('acc-b1', 'acc-b', 'active')]) await put(admin, r);
});
afterAll(() => server.destroy());

describe('search within the granted access', () => {
  it('a patient sees only their own compartment, and the total counts only that', async () => {
    const token = await server.token({ scope: 'patient/*.rs', role: 'patient', fhirUser: 'Patient/acc-a', patient: 'acc-a' });
    const patient = fhirClient(server.fhirUrl, { token });
    const bundle = await search(patient, 'MedicationRequest?medication:missing=true');
    expect(matchIds(bundle)).toEqual(['acc-a1', 'acc-a2']);
    expect(bundle.total).toBe(2);
    expect(matchIds(await search(patient, 'Patient?family=access'))).toEqual(['acc-a']);
  });

  it('a query-restricted scope ANDs its query with the criteria', async () => {
    const token = await server.token({ scope: 'user/MedicationRequest.rs?status=active', role: 'practitioner', fhirUser: 'Practitioner/x' });
    const practitioner = fhirClient(server.fhirUrl, { token });
    const bundle = await search(practitioner, 'MedicationRequest?_id=acc-a1,acc-a2,acc-b1');
    expect(matchIds(bundle)).toEqual(['acc-a1', 'acc-b1']);
    expect(bundle.total).toBe(2);
  });
});
