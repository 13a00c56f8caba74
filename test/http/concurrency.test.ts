import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';

let server: TestServer;
let fhir: FhirClient;

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

describe('concurrent writers', () => {
  it('If-Match: of 20 writers holding version 1, exactly one wins; the others get 412 and nothing is lost', async () => {
    const created = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Race' }] });
    const writers = Array.from({ length: 20 }, (_, i) =>
      fhir.put(`Patient/${created.id}`, { ...created, name: [{ family: `Writer${i}` }] }, { 'If-Match': 'W/"1"' }),
    );
    const results = await Promise.all(writers);
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 412)).toHaveLength(19);
    const current = await fhir.get<Patient>(`Patient/${created.id}`);
    expect(current.body.meta!.versionId).toBe('2');
    expect(current.body.name).toEqual(winners[0].body.name);
  });

  it('read-modify-write with If-Match and retry on 412 never loses an increment', async () => {
    // No `given: []`: FHIR JSON has no empty arrays (issue 20); the first increment adds the list.
    const created = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Counter' }] });
    const increment = async (worker: number): Promise<void> => {
      for (;;) {
        const read = await fhir.get<Patient>(`Patient/${created.id}`);
        const given = [...(read.body.name![0].given ?? []), `w${worker}`];
        const res = await fhir.put(`Patient/${created.id}`, { ...read.body, name: [{ family: 'Counter', given }] }, { 'If-Match': read.headers.get('etag')! });
        if (res.status === 200) return;
        expect(res.status).toBe(412);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => increment(i)));
    const final = await fhir.get<Patient>(`Patient/${created.id}`);
    expect([...final.body.name![0].given!].sort()).toEqual(Array.from({ length: 8 }, (_, i) => `w${i}`).sort());
    expect(final.body.meta!.versionId).toBe('9');
  });

  it('unconditional concurrent updates each become their own version', async () => {
    const created = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Many' }] });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => fhir.put(`Patient/${created.id}`, { ...created, birthDate: `19${10 + i}-01-01` })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const versions = results.map((r) => Number(r.body.meta.versionId)).sort((a, b) => a - b);
    expect(versions).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const history = await fhir.get<Bundle>(`Patient/${created.id}/_history?_count=50`);
    expect(history.body.entry).toHaveLength(11);
  });
});
