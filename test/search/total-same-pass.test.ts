import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';

/**
 * Issue 14: `_total=accurate` (the default) is taken from the page itself when the first page holds
 * every match, so the store is not asked to count; a larger result is still counted exactly, by
 * the embedded store in the page's own query when it starts from the search-value index (issue 13:
 * `StorePort.findCounted`), as this selective search does.
 */
let server: TestServer;
let fhir: FhirClient;
const FAMILY = `Totalpass${Date.now()}`;

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
  for (let i = 0; i < 7; i++) await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: FAMILY, given: [`g${i}`] }] });
});
afterAll(() => server.destroy());

/** A search, with the number of store counts it caused (the real store, observed, not replaced). */
async function search(query: string): Promise<{ bundle: Bundle; counts: number }> {
  const count = vi.spyOn(server.app.store, 'count');
  try {
    const res = await fhir.get<Bundle>(`Patient?family=${FAMILY}&${query}`);
    expect(res.status).toBe(200);
    const counts = count.mock.calls.filter(([, filter]) => JSON.stringify(filter).includes(FAMILY.toLowerCase()) || JSON.stringify(filter).includes(FAMILY)).length;
    return { bundle: res.body, counts };
  } finally {
    count.mockRestore();
  }
}

describe('_total counted in the same pass as the page', () => {
  it.each([
    { query: '_count=50', total: 7, entries: 7, counts: 0, why: 'one page holds every match: the page is the count' },
    { query: '_count=7', total: 7, entries: 7, counts: 0, why: 'exactly a page: no next page, so still complete' },
    { query: '_count=3', total: 7, entries: 3, counts: 0, why: 'more than a page: counted by the page query' },
    { query: '_count=50&_total=accurate', total: 7, entries: 7, counts: 0, why: 'explicit accurate, complete page' },
    { query: '_summary=count', total: 7, entries: 0, counts: 1, why: 'count only: no page is read' },
    { query: '_count=0', total: 7, entries: 0, counts: 0, why: 'an empty page size: counted by the page query' },
    { query: '_count=3&_total=none', total: undefined, entries: 3, counts: 0, why: 'no total asked' },
  ])('$query: $why', async ({ query, total, entries, counts }) => {
    const result = await search(query);
    expect(result.bundle.total).toBe(total);
    expect(result.bundle.entry?.filter((e) => e.search?.mode === 'match') ?? []).toHaveLength(entries);
    expect(result.counts).toBe(counts);
  });

  it('a later page (after a cursor) is counted by the store, and agrees', async () => {
    const first = await search('_count=5');
    const next = first.bundle.link?.find((l) => l.relation === 'next')?.url;
    expect(next).toBeDefined();
    const count = vi.spyOn(server.app.store, 'count');
    try {
      const res = await fetch(next!, { headers: { Authorization: `Bearer ${await server.token()}`, Accept: 'application/fhir+json' } });
      const bundle = (await res.json()) as Bundle;
      expect(bundle.total).toBe(7);
      expect(bundle.entry?.filter((e) => e.search?.mode === 'match')).toHaveLength(2);
      expect(count).toHaveBeenCalled();
    } finally {
      count.mockRestore();
    }
  });
});
