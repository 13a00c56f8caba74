import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '@medplum/fhirtypes';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { fixtures, recordOf, seed } from './fixtures.js';

let server: TestServer;
let admin: FhirClient;
/** A practitioner's app launched for p1 with patient/ scopes. */
let launched: FhirClient;
/** Patient p1 signed in with user/ scopes. */
let p1: FhirClient;

const ids = (bundle: Bundle): string[] => (bundle.entry ?? []).filter((e) => e.search?.mode !== 'outcome').map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);

beforeAll(async () => {
  server = await startServer();
  admin = fhirClient(server.fhirUrl);
  await seed(admin, [...recordOf('p1'), ...recordOf('p2'), fixtures.medicationRequest('p1-stopped', 'p1', 'stopped'), fixtures.practitioner('d1')]);
  launched = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'launch/patient patient/*.rs patient/MedicationRequest.cud', role: 'practitioner', fhirUser: 'Practitioner/d1', patient: 'p1' }) });
  p1 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs user/Consent.cruds', role: 'patient', fhirUser: 'Patient/p1' }) });
});
afterAll(() => server.destroy());

describe.each([
  ['patient/ scopes (launch patient p1)', () => launched],
  ['the patient role (fhirUser Patient/p1)', () => p1],
])('compartment confinement: %s', (_label, client) => {
  it('reads, vreads and reads the history of p1 resources, and nothing of p2', async () => {
    for (const path of ['Patient/p1', 'MedicationRequest/p1-mr', 'MedicationRequest/p1-mr/_history/1', 'MedicationRequest/p1-mr/_history', 'Appointment/p1-appt']) {
      expect((await client().get(path)).status, path).toBe(200);
    }
    for (const path of ['Patient/p2', 'MedicationRequest/p2-mr', 'MedicationRequest/p2-mr/_history/1', 'MedicationRequest/p2-mr/_history', 'Consent/p2-consent']) {
      expect((await client().get(path)).status, path).toBe(403);
    }
  });

  it('searches, type histories, compartment searches and $everything return only p1', async () => {
    const search = await client().get<Bundle>('MedicationRequest');
    expect(search.status).toBe(200);
    expect(ids(search.body).sort()).toEqual(['MedicationRequest/p1-mr', 'MedicationRequest/p1-stopped']);
    expect(search.body.total).toBe(2);
    expect(ids((await client().get<Bundle>('Patient')).body)).toEqual(['Patient/p1']);
    const history = await client().get<Bundle>('MedicationRequest/_history');
    expect(ids(history.body).every((id) => id.startsWith('MedicationRequest/p1-'))).toBe(true);
    expect((await client().get('Patient/p1/MedicationRequest')).status).toBe(200);
    expect((await client().get('Patient/p2/MedicationRequest')).status).toBe(403);
    expect((await client().get('Patient/p2/$everything')).status).toBe(403);
    const everything = await client().get<Bundle>('Patient/p1/$everything');
    expect(everything.status).toBe(200);
    expect(ids(everything.body).some((id) => id.includes('p2'))).toBe(false);
  });

  it('_include and _revinclude bring nothing from another compartment', async () => {
    const res = await client().get<Bundle>('Patient?_revinclude=MedicationRequest:subject&_revinclude=Appointment:actor');
    expect(res.status).toBe(200);
    expect(ids(res.body).some((id) => id.includes('p2'))).toBe(false);
    expect(ids(res.body)).toContain('MedicationRequest/p1-mr');
  });

  it('reads reference data outside any compartment (Practitioner)', async () => {
    expect((await client().get('Practitioner/d1')).status).toBe(200);
  });
});

describe('compartment confinement of writes', () => {
  it('patient/ scopes create, update and delete only inside the compartment', async () => {
    expect((await launched.post('MedicationRequest', fixtures.medicationRequest('x', 'p1'))).status).toBe(201);
    expect((await launched.post('MedicationRequest', fixtures.medicationRequest('x', 'p2'))).status).toBe(403);
    expect((await launched.put('MedicationRequest/p2-mr', fixtures.medicationRequest('p2-mr', 'p2'))).status).toBe(403);
    // Moving a p1 resource to p2 is a write outside the compartment.
    expect((await launched.put('MedicationRequest/p1-mr', fixtures.medicationRequest('p1-mr', 'p2'))).status).toBe(403);
    expect((await launched.delete('MedicationRequest/p2-mr')).status).toBe(403);
    expect((await admin.get('MedicationRequest/p2-mr')).status).toBe(200);
    const mine = await launched.post('MedicationRequest', fixtures.medicationRequest('x', 'p1'));
    expect((await launched.delete(`MedicationRequest/${mine.body.id}`)).status).toBe(200);
  });

  it('patients manage their own consents only', async () => {
    expect((await p1.post('Consent', fixtures.consent('x', 'p1'))).status).toBe(201);
    expect((await p1.post('Consent', fixtures.consent('x', 'p2'))).status).toBe(403);
    expect((await p1.put('Consent/p2-consent', fixtures.consent('p2-consent', 'p2'))).status).toBe(403);
    expect((await p1.put('Consent/p1-consent', { ...fixtures.consent('p1-consent', 'p1'), status: 'inactive' })).status).toBe(200);
    expect((await p1.post('MedicationRequest', fixtures.medicationRequest('x', 'p1'))).status).toBe(403);
  });

  it('a patient signed in with patient/ scopes but no launch patient is confined to their own record', async () => {
    const own = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'patient/*.rs', role: 'patient', fhirUser: 'Patient/p1' }) });
    expect((await own.get('Patient/p1')).status).toBe(200);
    expect((await own.get('Patient/p2')).status).toBe(403);
  });

  it('a patient token whose launch patient differs from its fhirUser patient is refused', async () => {
    const odd = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'patient/*.rs', role: 'patient', fhirUser: 'Patient/p1', patient: 'p2' }) });
    expect((await odd.get('Patient/p2')).status).toBe(403);
  });
});

describe('query-restricted scopes (SMART v2)', () => {
  it('patient/MedicationRequest.rs?status=active grants only active requests', async () => {
    const active = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'patient/MedicationRequest.rs?status=active', role: 'practitioner', patient: 'p1' }) });
    expect((await active.get('MedicationRequest/p1-mr')).status).toBe(200);
    expect((await active.get('MedicationRequest/p1-stopped')).status).toBe(403);
    const search = await active.get<Bundle>('MedicationRequest');
    expect(ids(search.body)).toContain('MedicationRequest/p1-mr');
    expect(ids(search.body)).not.toContain('MedicationRequest/p1-stopped');
    expect(search.body.entry!.every((e) => (e.resource as { status?: string }).status === 'active')).toBe(true);
    expect((await active.get('MedicationRequest/p2-mr')).status).toBe(403);
  });

  it('system/ query-restricted scopes apply across patients', async () => {
    const stopped = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'system/MedicationRequest.rs?status=stopped' }) });
    expect(ids((await stopped.get<Bundle>('MedicationRequest')).body)).toEqual(['MedicationRequest/p1-stopped']);
    expect((await stopped.get('MedicationRequest/p2-mr')).status).toBe(403);
  });
});
