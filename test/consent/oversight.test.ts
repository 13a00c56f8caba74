import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BREAK_GLASS_EXTENSION } from '../../src/audit/audit-event.js';
import { fixtures, seed } from '../auth/fixtures.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { medicationRequest, privacyConsent } from './support.js';

/**
 * "Who looked at my record", and who watches the watchers: a patient who withholds everything from
 * everyone still sees every access to their record, and so does the auditor (admin role), whom a
 * patient's Consent cannot blind to the trail, break-glass above all.
 */
let server: TestServer;
let d1: FhirClient;
let auditor: FhirClient;
let patient: FhirClient;
let other: FhirClient;

beforeAll(async () => {
  server = await startServer();
  const root = fhirClient(server.fhirUrl);
  await seed(root, [fixtures.practitioner('d1'), fixtures.practitioner('auditor'), fixtures.patient('k'), fixtures.patient('j'), medicationRequest('k', 'mr1')]);
  await seed(root, [privacyConsent('k-nobody', 'k', { type: 'deny' })]);
  d1 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs', role: 'practitioner', fhirUser: 'Practitioner/d1' }) });
  auditor = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs', role: 'admin', fhirUser: 'Practitioner/auditor' }) });
  patient = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs', role: 'patient', fhirUser: 'Patient/k' }) });
  other = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs', role: 'patient', fhirUser: 'Patient/j' }) });
});
afterAll(() => server.destroy());

const eventsOf = (bundle: Bundle): AuditEvent[] => (bundle.entry ?? []).map((e) => e.resource as AuditEvent).filter((r) => r?.resourceType === 'AuditEvent');
const byD1 = (events: AuditEvent[]) => events.filter((e) => e.agent?.[0]?.who?.reference === 'Practitioner/d1' && e.subtype?.[0]?.code === 'read');

describe('the audit trail of a patient who withholds everything', () => {
  it('a refused read and a break-glass read both reach the patient and the auditor', async () => {
    expect((await d1.get('MedicationRequest/k-mr1')).status).toBe(404);
    expect((await d1.get('MedicationRequest/k-mr1', { 'X-Purpose-Of-Use': 'ETREAT' })).status).toBe(200);
    for (const reader of [patient, auditor]) {
      const res = await reader.get<Bundle>('AuditEvent?patient=Patient/k&_count=1000');
      expect(res.status).toBe(200);
      const reads = byD1(eventsOf(res.body));
      expect(reads.map((e) => e.outcome).sort()).toEqual(['0', '4']);
      const glass = reads.find((e) => e.outcome === '0')!;
      expect(glass.extension?.some((x) => x.url === BREAK_GLASS_EXTENSION && x.valueBoolean)).toBe(true);
      expect(glass.entity?.map((e) => e.what?.reference)).toContain('Consent/k-nobody');
    }
  });

  it('nobody else reads that trail: another patient finds nothing of it, a practitioner may not search it', async () => {
    // Another patient may not search the trail by k at all (issue 15), nor finds k in their own.
    expect((await other.get<Bundle>('AuditEvent?patient=Patient/k&_count=1000')).status).toBe(403);
    const own = await other.get<Bundle>('AuditEvent?_count=1000');
    expect(own.status).toBe(200);
    // Neither plainly nor by a version (issue 14: a Patient may be named by the version seen).
    expect(JSON.stringify(own.body)).not.toMatch(/"Patient\/k(\/_history\/[^"]*)?"/);
    expect((await d1.get('AuditEvent?patient=Patient/k')).status).toBe(403);
  });
});
