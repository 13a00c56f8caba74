import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, seed } from '../auth/fixtures.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';

/** The audit trail as a patient sees it (issue 15, item 4): about themselves only, never naming other patients. */
let server: TestServer;
let p1: FhirClient;
let d1: FhirClient;

beforeAll(async () => {
  server = await startServer({ AUDIT_SINK: 'store' });
  await seed(fhirClient(server.fhirUrl), [fixtures.patient('p1'), fixtures.patient('p2'), fixtures.medicationRequest('p2-mr', 'p2'), fixtures.practitioner('d1')]);
  d1 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs', role: 'practitioner', fhirUser: 'Practitioner/d1' }) });
  p1 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs', role: 'patient', fhirUser: 'Patient/p1' }) });
  // A search that touched both patients: its AuditEvent names p1 and p2.
  expect((await d1.get<Bundle>('Patient?_count=10')).body.total).toBe(2);
  expect((await d1.get('Patient/p1')).status).toBe(200);
});
afterAll(() => server.destroy());

const events = (bundle: Bundle): AuditEvent[] => (bundle.entry ?? []).map((e) => e.resource as AuditEvent).filter((r) => r?.resourceType === 'AuditEvent');

describe('a patient reads the audit trail about themselves', () => {
  it('sees who looked at their record, with other patients and their data left out', async () => {
    const own = await p1.get<Bundle>('AuditEvent?patient=Patient/p1&_count=100');
    expect(own.status).toBe(200);
    const found = events(own.body);
    const search = found.find((e) => e.subtype?.some((s) => s.code === 'search-type'));
    expect(search?.agent?.some((a) => a.who?.reference === 'Practitioner/d1')).toBe(true);
    // The patient as the search returned them, by version (issue 14: named once, not again as a plain `Patient/p1`).
    expect(search?.entity?.map((e) => e.what?.reference?.replace(/\/_history\/.*$/, ''))).toContain('Patient/p1');
    expect(own.text).not.toContain('Patient/p2');
    expect(own.text).not.toContain('p2-mr');
    // The same through the compartment and a read of one event.
    const compartment = await p1.get<Bundle>('Patient/p1/AuditEvent?_count=100');
    expect(compartment.text).not.toContain('Patient/p2');
    const one = await p1.get<AuditEvent>(`AuditEvent/${search!.id}`);
    expect([one.status, one.text.includes('Patient/p2')]).toEqual([200, false]);
  });

  it('cannot search the trail by other patients, entities, agents, chains or includes', async () => {
    for (const query of ['patient=Patient/p2', 'patient=p2', 'patient=Patient/p1,Patient/p2', 'entity=Patient/p2', 'agent=Practitioner/d1', 'patient.name=Family-p2', '_has:Patient:link:name=x', '_include=AuditEvent:entity']) {
      const res = await p1.get(`AuditEvent?${query}`);
      expect([query, res.status, errorCode(res.body)]).toEqual([query, 403, 'forbidden']);
    }
  });

  it('$everything does not include the audit trail, for the patient or anyone else', async () => {
    for (const [who, client] of [['p1', p1], ['d1', d1], ['system', fhirClient(server.fhirUrl)]] as const) {
      const everything = await client.get<Bundle>('Patient/p1/$everything?_count=1000');
      expect([who, everything.status, events(everything.body).length]).toEqual([who, 200, 0]);
    }
  });
});
