import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, seed } from '../auth/fixtures.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { testClock } from '../support/clock.js';
import { startServer, type TestServer } from '../support/server.js';
import { ids, medicationRequest, official } from './support.js';

/**
 * An opt-in deployment (CONSENT_DEFAULT=opt-in, CONSENT_DENIED_READ_STATUS=403) with two official
 * R4 examples that grant rather than withhold: notThis (one resource), smartonfhir (a time window).
 */
let server: TestServer;
let d1: FhirClient;
let admin: FhirClient;
let windowEnd: number;
const clock = testClock();

beforeAll(async () => {
  server = await startServer({ CONSENT_DEFAULT: 'opt-in', CONSENT_DENIED_READ_STATUS: '403' }, undefined, { clock: clock.now });
  admin = fhirClient(server.fhirUrl);
  const data = ['pthis', 'psmart', 'pnone'].flatMap((p) => [fixtures.patient(p), medicationRequest(p, 'mr1'), medicationRequest(p, 'mr2')]);
  await seed(admin, [fixtures.practitioner('d1'), ...data]);
  // notThis names one resource (Task/example3 in the example): ours is pthis-mr2.
  const notThis = JSON.parse(JSON.stringify(official('notThis', 'c-this', 'pthis', 'Practitioner/d1')).replace('Task/example3', 'MedicationRequest/pthis-mr2'));
  // smartonfhir grants access for half an hour in 2016; ours opened a minute ago and closes when the test moves the server's clock past it.
  windowEnd = clock.now().getTime() + 60_000;
  const smart = official('smartonfhir', 'c-smart', 'psmart', 'Practitioner/d1');
  smart.dateTime = new Date(clock.now().getTime() - 60_000).toISOString();
  smart.provision = { ...smart.provision, period: { start: smart.dateTime, end: new Date(windowEnd).toISOString() } };
  await seed(admin, [notThis, smart]);
  d1 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs', role: 'practitioner', fhirUser: 'Practitioner/d1' }) });
});
afterAll(() => server.destroy());

describe('opt-in: only what a Consent grants is seen', () => {
  it('notThis grants its one resource; smartonfhir grants the whole record while its window is open', async () => {
    const found = await d1.get<Bundle>('MedicationRequest?_count=100');
    expect([ids(found.body).sort(), found.body.total]).toEqual([['MedicationRequest/psmart-mr1', 'MedicationRequest/psmart-mr2', 'MedicationRequest/pthis-mr2'], 3]);
    expect((await d1.get('MedicationRequest/pthis-mr2')).status).toBe(200);
    expect((await d1.get('MedicationRequest/pthis-mr1')).status).toBe(403);
    expect((await d1.get('Patient/pthis')).status).toBe(403);
    expect((await d1.get('Patient/psmart')).status).toBe(200);
    expect((await d1.get('Patient/pnone')).status).toBe(403);
    expect(ids((await d1.get<Bundle>('Patient')).body)).toEqual(['Patient/psmart']);
    // The read's AuditEvent names the Consent that granted it.
    const trail = await admin.get<Bundle>('AuditEvent?patient=Patient/pthis&_count=1000');
    const read = (trail.body.entry ?? []).map((e) => e.resource as AuditEvent).find((a) => a.subtype?.[0]?.code === 'read' && a.outcome === '0');
    expect(read?.entity?.map((e) => e.what?.reference)).toContain('Consent/c-this');
  });

  it('when the window closes, the grant ends with it', async () => {
    clock.passTo(windowEnd);
    expect(ids((await d1.get<Bundle>('MedicationRequest?_count=100')).body)).toEqual(['MedicationRequest/pthis-mr2']);
    expect((await d1.get('Patient/psmart')).status).toBe(403);
  });
});
