import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixtures, recordOf, seed } from '../auth/fixtures.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';

/**
 * Issue 14, first item, through the real app: a read by id loads and decodes its resource at most
 * once. The authorizer loads only when the grant depends on content (a compartment), and hands what
 * it loaded to consent and the read through the request's exchange (issue 16). Observed by spying
 * (pass-through) on the real store and codec of the running app.
 */
let server: TestServer;
let system: FhirClient;
let confined: FhirClient;
let practitioner: FhirClient;

beforeAll(async () => {
  server = await startServer();
  await seed(fhirClient(server.fhirUrl), [...recordOf('p1'), fixtures.practitioner('d1')]);
  system = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'system/*.rs' }) });
  confined = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs', role: 'patient', fhirUser: 'Patient/p1' }) });
  practitioner = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.cruds', role: 'practitioner', fhirUser: 'Practitioner/d1' }) });
});
afterAll(() => server.destroy());

/** Current-version loads of `type/id` and decodes while `run` runs. */
async function costOf(type: string, id: string, run: () => Promise<unknown>): Promise<{ loads: number; decodes: number }> {
  const find = vi.spyOn(server.app.store, 'find');
  const decode = vi.spyOn(server.app.crypto.codec, 'decode');
  try {
    await run();
    const loads = find.mock.calls.filter(([collection, filter]) => collection === 'current' && (filter as { resourceType?: string; id?: string }).resourceType === type && (filter as { id?: string }).id === id).length;
    return { loads, decodes: decode.mock.calls.length };
  } finally {
    find.mockRestore();
    decode.mockRestore();
  }
}

describe('a read loads and decodes its resource once (issue 14)', () => {
  it.each([
    ['a system/ token (the grant does not depend on content: the authorizer loads nothing)', () => system],
    ['a patient confined to their compartment (the authorizer loads; the read reuses it)', () => confined],
    ['a practitioner subject to Consents (consent decides on the resource the read returns)', () => practitioner],
  ])('%s', async (_label, client) => {
    // Once to warm what is kept between requests (the patient's Consents, decoded until the next Consent write).
    expect((await client().get('MedicationRequest/p1-mr')).status).toBe(200);
    let status = 0;
    const cost = await costOf('MedicationRequest', 'p1-mr', async () => {
      status = (await client().get('MedicationRequest/p1-mr')).status;
    });
    expect(status).toBe(200);
    expect(cost).toEqual({ loads: 1, decodes: 1 });
  });
});
