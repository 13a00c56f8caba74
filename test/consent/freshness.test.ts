import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, seed } from '../auth/fixtures.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { testClock } from '../support/clock.js';
import { startServer, type TestServer } from '../support/server.js';
import { CODES, d1Actor, ids, medicationRequest, privacyConsent } from './support.js';

/**
 * The gate keeps decoded Consents and search restrictions between requests (issue 8, "Cost"); these
 * tests prove what is kept never outlives what it was derived from: a Consent written, a resource
 * of the searched type written, a provision period ending.
 */
let server: TestServer;
const clock = testClock();
let admin: FhirClient;
let d1: FhirClient;
let patient: FhirClient;

const searchIds = async (path = 'MedicationRequest?_count=100'): Promise<string[]> => ids((await d1.get<Bundle>(path)).body).sort();

beforeAll(async () => {
  server = await startServer({}, undefined, { clock: clock.now });
  admin = fhirClient(server.fhirUrl);
  await seed(admin, [fixtures.practitioner('d1'), fixtures.patient('k'), medicationRequest('k', 'mr1'), medicationRequest('k', 'mr2')]);
  d1 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.cruds', role: 'practitioner', fhirUser: 'Practitioner/d1' }) });
  patient = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs user/Consent.cruds', role: 'patient', fhirUser: 'Patient/k' }) });
});
afterAll(() => server.destroy());

describe('what the consent gate keeps is never stale', () => {
  it('a new Consent applies to the very next search and read; revoking it lifts it on the very next one', async () => {
    expect(await searchIds()).toEqual(['MedicationRequest/k-mr1', 'MedicationRequest/k-mr2']);
    // The patient withholds code X from d1, through their own SMART app.
    const consent = privacyConsent('k-no-x', 'k', d1Actor({ code: [{ coding: [{ system: CODES, code: 'X' }] }] }));
    expect((await patient.put('Consent/k-no-x', consent)).status).toBe(201);
    expect(await searchIds()).toEqual(['MedicationRequest/k-mr1']);
    expect((await d1.get('MedicationRequest/k-mr2')).status).toBe(404);
    expect((await patient.put('Consent/k-no-x', { ...consent, status: 'inactive' })).status).toBe(200);
    expect(await searchIds()).toEqual(['MedicationRequest/k-mr1', 'MedicationRequest/k-mr2']);
    expect((await d1.get('MedicationRequest/k-mr2')).status).toBe(200);
    expect((await patient.put('Consent/k-no-x', consent)).status).toBe(200);
    expect(await searchIds()).toEqual(['MedicationRequest/k-mr1']);
  });

  it('a resource written after a search was decided is decided too: the next search sees it withheld or not', async () => {
    await seed(admin, [{ ...medicationRequest('k', 'mr2'), id: 'k-mr3' }, { ...medicationRequest('k', 'mr1'), id: 'k-mr4' }]);
    expect(await searchIds()).toEqual(['MedicationRequest/k-mr1', 'MedicationRequest/k-mr4']);
    // Recoded from A to X by someone the Consent does not bind: withheld from d1 at once.
    await seed(admin, [{ ...medicationRequest('k', 'mr2'), id: 'k-mr4' }]);
    expect(await searchIds()).toEqual(['MedicationRequest/k-mr1']);
    expect((await d1.get<Bundle>('MedicationRequest?_summary=count')).body.total).toBe(1);
  });

  it('a provision period ending is honoured without any write', async () => {
    const end = new Date(clock.now().getTime() + 60_000).toISOString();
    const timed = privacyConsent('k-until', 'k', d1Actor({ period: { end } }));
    expect((await patient.put('Consent/k-until', timed)).status).toBe(201);
    expect(await searchIds()).toEqual([]);
    // The server's clock passes the end; nothing is written meanwhile.
    clock.passTo(Date.parse(end));
    expect(await searchIds()).toEqual(['MedicationRequest/k-mr1']);
  });
});
