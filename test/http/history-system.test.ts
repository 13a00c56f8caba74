import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { startServer, type TestServer } from '../support/server.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';

let server: TestServer;
let fhir: FhirClient;

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Follows `next` links to the end, returning every entry (the client carries the token). */
async function allPages(path: string): Promise<NonNullable<Bundle['entry']>> {
  const entries: NonNullable<Bundle['entry']> = [];
  let url: string | undefined = path;
  while (url) {
    const page: { status: number; body: Bundle } = await fhir.get<Bundle>(url);
    expect(page.status).toBe(200);
    entries.push(...(page.body.entry ?? []));
    url = page.body.link?.find((l) => l.relation === 'next')?.url;
  }
  return entries;
}

describe('system history (GET [base]/_history)', () => {
  it('lists every version of every type newest first, deletions included, paged by _count', async () => {
    const start = new Date().toISOString();
    const p = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Sys' }] });
    await fhir.create({ resourceType: 'Practitioner', name: [{ family: 'Sys' }] });
    await fhir.put(`Patient/${p.id}`, { ...p, active: true });
    await fhir.delete(`Patient/${p.id}`);
    const all = await allPages(`_history?_since=${start}&_count=2`);
    // System history is every type's, AuditEvents too: each write and read above recorded one.
    expect(all.filter((e) => e.request!.url.startsWith('AuditEvent')).length).toBeGreaterThanOrEqual(4);
    const entries = all.filter((e) => !e.request!.url.startsWith('AuditEvent'));
    expect(entries.map((e) => `${e.request!.method} ${e.request!.url}`)).toEqual([
      `DELETE Patient/${p.id}`,
      `PUT Patient/${p.id}`,
      'POST Practitioner',
      'POST Patient',
    ]);
    expect(entries[0].response!.status).toBe('204');
    expect(entries[0].resource).toBeUndefined();
    const first = await fhir.get<Bundle>(`_history?_since=${start}&_count=2`);
    expect(first.body.type).toBe('history');
    expect(first.body.entry).toHaveLength(2);
  });

  it('_at gives the versions current at some point of the period', async () => {
    const p = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'At' }] });
    await sleep(20);
    const between = new Date().toISOString();
    await sleep(20);
    await fhir.put(`Patient/${p.id}`, { ...p, active: true });
    const at = await fhir.get<Bundle>(`Patient/${p.id}/_history?_at=${between}`);
    expect(at.status).toBe(200);
    expect(at.body.entry!.map((e) => e.resource!.meta!.versionId)).toEqual(['1']);
    const now = await fhir.get<Bundle>(`Patient/${p.id}/_history?_at=${new Date(Date.now() + 1000).toISOString()}`);
    expect(now.body.entry!.map((e) => e.resource!.meta!.versionId)).toEqual(['2']);
    const day = await fhir.get<Bundle>(`Patient/${p.id}/_history?_at=${between.slice(0, 10)}`);
    expect(day.body.entry!.map((e) => e.resource!.meta!.versionId)).toEqual(['2', '1']);
    const system = await allPages(`_history?_at=${between}&_count=1`);
    expect(system.some((e) => e.resource?.id === p.id && e.resource?.meta?.versionId === '1')).toBe(true);
    expect(system.some((e) => e.resource?.id === p.id && e.resource?.meta?.versionId === '2')).toBe(false);
  });

  it('refuses malformed _since and _at with an OperationOutcome', async () => {
    for (const query of ['_since=yesterday', '_at=soon', '_count=x']) {
      const res = await fhir.get(`_history?${query}`);
      expect(res.status, query).toBe(400);
      expect(errorCode(res.body)).toBe('bad-request');
    }
  });
});
