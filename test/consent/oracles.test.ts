import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, seed } from '../auth/fixtures.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { aboutActor, ids, privacyConsent } from './support.js';

/**
 * Leaks around the consent gate (issue 15, items 2, 3, 7): Patient p2 denies Practitioner d1. Every
 * answer about p2's data must be the answer about data that does not exist, whatever the path.
 */
let server: TestServer;
let root: FhirClient;
let d1: FhirClient;

beforeAll(async () => {
  server = await startServer({ AUDIT_SINK: 'log' });
  root = fhirClient(server.fhirUrl);
  await seed(root, [fixtures.patient('p1'), fixtures.patient('p2'), fixtures.practitioner('d1')]);
  await seed(root, [
    // p1's prescription, performed by p2 (not p2's compartment, but p2's data all the same).
    { ...fixtures.medicationRequest('mr-performer', 'p1'), performer: { reference: 'Patient/p2' } } as never,
    fixtures.medicationRequest('mr-p2', 'p2'),
    fixtures.medicationRequest('mr-p2-gone', 'p2'),
    privacyConsent('p2-deny-d1', 'p2', aboutActor('deny', 'Practitioner/d1')),
  ]);
  expect((await root.delete('MedicationRequest/mr-p2-gone')).status).toBe(200);
  d1 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.cruds', role: 'practitioner', fhirUser: 'Practitioner/d1' }) });
});
afterAll(() => server.destroy());

/** Status and diagnostics of a response, the two things a client can compare. */
const answer = async (res: Promise<{ status: number; body: any }>) => {
  const r = await res;
  return [r.status, r.body?.issue?.[0]?.diagnostics];
};

describe('read and search decide alike (item 2)', () => {
  it('a resource naming the denying patient outside the compartment is withheld from read, _id search and performer search alike', async () => {
    expect((await d1.get('MedicationRequest/mr-performer')).status).toBe(404);
    expect(ids((await d1.get<Bundle>('MedicationRequest?_id=mr-performer')).body)).toEqual([]);
    expect((await d1.get<Bundle>('MedicationRequest?performer=Patient/p2&_total=accurate')).body.total).toBe(0);
    expect(ids((await d1.get<Bundle>('Patient?_revinclude=MedicationRequest:subject')).body)).not.toContain('MedicationRequest/mr-performer');
    // Whoever the patient does not deny sees it everywhere.
    expect(ids((await root.get<Bundle>('MedicationRequest?_id=mr-performer')).body)).toEqual(['MedicationRequest/mr-performer']);
  });
});

describe('conditional reads (item 3)', () => {
  it('If-None-Match and If-Modified-Since on a withheld resource are 404 with no ETag or Last-Modified', async () => {
    const variants: Array<Record<string, string>> = [{ 'If-None-Match': 'W/"1"' }, { 'If-None-Match': '*' }, { 'If-Modified-Since': new Date(Date.now() + 86_400_000).toUTCString() }];
    for (const headers of variants) {
      const res = await d1.get('MedicationRequest/mr-p2', headers);
      expect([res.status, res.headers.get('etag'), res.headers.get('last-modified')]).toEqual([404, null, null]);
      expect((await d1.get('MedicationRequest/mr-p2/_history/1', headers)).status).toBe(404);
    }
    expect((await root.get('MedicationRequest/mr-p2', { 'If-None-Match': 'W/"1"' })).status).toBe(304);
  });
});

describe('existence oracles (item 7)', () => {
  it('read, vread and history of withheld resources say exactly what they say of missing ones', async () => {
    expect(await answer(d1.get('MedicationRequest/mr-p2'))).toEqual(await answer(d1.get('MedicationRequest/mr-none')).then(([s, m]) => [s, (m as string).replace('mr-none', 'mr-p2')]));
    expect(await answer(d1.get('MedicationRequest/mr-p2/_history/1'))).toEqual([404, 'MedicationRequest/mr-p2 has no version 1']);
    expect(await answer(d1.get('MedicationRequest/mr-none/_history/1'))).toEqual([404, 'MedicationRequest/mr-none has no version 1']);
    expect(await answer(d1.get('MedicationRequest/mr-p2/_history'))).toEqual([404, 'MedicationRequest/mr-p2 is not known']);
  });

  it('a deleted withheld resource is 404, not 410, on read, vread and history', async () => {
    expect(await answer(d1.get('MedicationRequest/mr-p2-gone'))).toEqual([404, 'MedicationRequest/mr-p2-gone is not known']);
    expect(await answer(d1.get('MedicationRequest/mr-p2-gone/_history/2'))).toEqual([404, 'MedicationRequest/mr-p2-gone has no version 2']);
    expect((await d1.get('MedicationRequest/mr-p2-gone/_history')).status).toBe(404);
    expect((await root.get('MedicationRequest/mr-p2-gone')).status).toBe(410);
  });

  it('deleting a withheld resource answers as deleting a missing one, and deletes nothing', async () => {
    expect(await answer(d1.delete('MedicationRequest/mr-p2'))).toEqual([200, 'MedicationRequest/mr-p2 does not exist; nothing to delete']);
    expect(await answer(d1.delete('MedicationRequest/mr-none'))).toEqual([200, 'MedicationRequest/mr-none does not exist; nothing to delete']);
    expect((await root.get('MedicationRequest/mr-p2')).status).toBe(200);
  });

  it('creating or updating data naming a withheld patient answers as naming a patient that does not exist', async () => {
    const naming = (patient: string) => ({ ...fixtures.medicationRequest('x', patient), id: undefined });
    expect(await answer(d1.post('MedicationRequest', naming('p2')))).toEqual([404, 'Patient/p2 is not known']);
    expect(await answer(d1.post('MedicationRequest', naming('p9')))).toEqual([404, 'Patient/p9 is not known']);
    expect(await answer(d1.put('MedicationRequest/new-1', { ...naming('p2'), id: 'new-1' }))).toEqual([404, 'Patient/p2 is not known']);
    expect(await answer(d1.put('MedicationRequest/new-1', { ...naming('p9'), id: 'new-1' }))).toEqual([404, 'Patient/p9 is not known']);
    expect((await d1.post('MedicationRequest', naming('p1'))).status).toBe(201);
  });
});
