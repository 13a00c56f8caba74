import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleEntry } from '@medplum/fhirtypes';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { bundleOf, countOf, failedEntry, medicationRequest, patient, post } from './support.js';

let server: TestServer;
let fhir: FhirClient;

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

const SIZE = 400;

/** A large transaction: patients and their MedicationRequests, linked by urn:uuid; `bad` makes one entry invalid. */
function largeTransaction(tag: string, bad?: number) {
  const entries: BundleEntry[] = [];
  for (let i = 0; entries.length < SIZE; i++) {
    const fullUrl = `urn:uuid:${crypto.randomUUID()}`;
    entries.push(post(patient(`urn:atom:${tag}`, String(i)), fullUrl));
    entries.push(post(medicationRequest(fullUrl, `${tag}-${i}`)));
  }
  if (bad !== undefined) entries[bad] = post({ resourceType: 'MedicationRequest', status: 'not-a-status', intent: 'order', subject: { reference: 'Patient/x' } } as any);
  return bundleOf('transaction', entries);
}

/** Polls the count of the tag's patients until `done` settles; returns every count seen. */
async function watch(tag: string, done: Promise<unknown>): Promise<number[]> {
  const seen: number[] = [];
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) seen.push(await countOf(fhir, 'Patient', `identifier=urn:atom:${tag}|`));
  return seen;
}

describe('transaction atomicity', () => {
  it('a failure in the middle of a large transaction leaves nothing, during, after, and after a restart', async () => {
    const request = fhir.post('', largeTransaction('fail', SIZE / 2 + 1));
    const seen = await watch('fail', request);
    const res = await request;
    expect(res.status).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(failedEntry(res.body)).toBe(SIZE / 2 + 1);
    expect(seen.every((n) => n === 0)).toBe(true);
    expect(await countOf(fhir, 'Patient', 'identifier=urn:atom:fail|')).toBe(0);
    expect(await countOf(fhir, 'MedicationRequest')).toBe(0);

    server = await server.restart();
    fhir = fhirClient(server.fhirUrl);
    expect(await countOf(fhir, 'Patient', 'identifier=urn:atom:fail|')).toBe(0);
    // Nothing of the data was ever stored; the only versions are the AuditEvents recording the attempt (and these reads).
    for (const type of ['Patient', 'MedicationRequest']) expect((await fhir.get(`${type}/_history?_count=1`)).body.entry ?? []).toHaveLength(0);
    const history = (await fhir.get('_history?_count=1000')).body.entry ?? [];
    expect(history.filter((e: any) => e.request.url.split('/')[0] !== 'AuditEvent')).toHaveLength(0);
    const audited = (await fhir.get(`AuditEvent?subtype=transaction&outcome=4`)).body.entry ?? [];
    expect(audited).toHaveLength(1);
  });

  it('a successful large transaction becomes visible all at once, and survives a restart', async () => {
    const request = fhir.post('', largeTransaction('ok'));
    const seen = await watch('ok', request);
    const res = await request;
    expect(res.status).toBe(200);
    expect(res.body.entry).toHaveLength(SIZE);
    // Readers saw nothing or everything, never a part.
    expect(seen.every((n) => n === 0 || n === SIZE / 2)).toBe(true);
    expect(await countOf(fhir, 'Patient', 'identifier=urn:atom:ok|')).toBe(SIZE / 2);

    server = await server.restart();
    fhir = fhirClient(server.fhirUrl);
    expect(await countOf(fhir, 'Patient', 'identifier=urn:atom:ok|')).toBe(SIZE / 2);
    expect(await countOf(fhir, 'MedicationRequest')).toBe(SIZE / 2);
    const mr = (await fhir.get('MedicationRequest?_count=1')).body.entry[0].resource;
    expect((await fhir.get(mr.subject.reference)).status).toBe(200);
  });

  it('concurrent transactions each commit whole', async () => {
    const results = await Promise.all([1, 2, 3, 4].map((n) => fhir.post('', largeTransaction(`par${n}`))));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    for (const n of [1, 2, 3, 4]) expect(await countOf(fhir, 'Patient', `identifier=urn:atom:par${n}|`)).toBe(SIZE / 2);
  });
});
