import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { fixtures, recordOf, seed } from './fixtures.js';

// Bundles are authorized entry by entry: each entry runs through the pipeline's authorization step.
let server: TestServer;
let launched: FhirClient;

const post = (resource: Resource): BundleEntry => ({ resource, request: { method: 'POST', url: resource.resourceType } });
const bundle = (type: 'transaction' | 'batch', entry: BundleEntry[]): Bundle => ({ resourceType: 'Bundle', type, entry });

beforeAll(async () => {
  server = await startServer();
  await seed(fhirClient(server.fhirUrl), [...recordOf('p1'), ...recordOf('p2')]);
  launched = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'patient/*.rs patient/MedicationRequest.c', role: 'practitioner', fhirUser: 'Practitioner/d1', patient: 'p1' }) });
});
afterAll(() => server.destroy());

describe('bundles under patient/ scopes', () => {
  it('a transaction with one entry outside the compartment fails whole, with 403, and stores nothing', async () => {
    const before = (await fhirClient(server.fhirUrl).get<Bundle>('MedicationRequest?_summary=count')).body.total;
    const res = await launched.post('', bundle('transaction', [post(fixtures.medicationRequest('a', 'p1')), post(fixtures.medicationRequest('b', 'p2'))]));
    expect(res.status).toBe(403);
    expect((await fhirClient(server.fhirUrl).get<Bundle>('MedicationRequest?_summary=count')).body.total).toBe(before);
  });

  it('a batch answers each entry on its own: the p1 write succeeds, the p2 write and read are refused, searches are confined', async () => {
    const res = await launched.post<Bundle>(
      '',
      bundle('batch', [
        post(fixtures.medicationRequest('a', 'p1')),
        post(fixtures.medicationRequest('b', 'p2')),
        { request: { method: 'GET', url: 'MedicationRequest/p2-mr' } },
        { request: { method: 'GET', url: 'MedicationRequest' } },
        { request: { method: 'DELETE', url: 'MedicationRequest/p1-mr' } },
      ]),
    );
    expect(res.status).toBe(200);
    const statuses = res.body.entry!.map((e) => e.response?.status?.slice(0, 3));
    expect(statuses).toEqual(['201', '403', '403', '200', '403']);
    const search = res.body.entry![3].resource as Bundle;
    expect(search.entry!.every((e) => (e.resource as { subject?: { reference?: string } }).subject?.reference === 'Patient/p1')).toBe(true);
  });

  it('a bundle needs a token like everything else', async () => {
    expect((await fhirClient(server.fhirUrl, { token: false }).post('', bundle('batch', []))).status).toBe(401);
  });
});
