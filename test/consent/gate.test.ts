import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { BREAK_GLASS_EXTENSION } from '../../src/audit/audit-event.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, recordOf, seed } from '../auth/fixtures.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { aboutActor, ids, privacyConsent } from './support.js';

let server: TestServer;
let admin: FhirClient;
/** Practitioner d1, whom patient p2's Consent denies. */
let d1: FhirClient;
/** Practitioner d2, whom nothing denies. */
let d2: FhirClient;
/** Patient p2, signed in. */
let p2: FhirClient;

const practitioner = (id: string) => ({ scope: 'user/*.rs user/Consent.cruds', role: 'practitioner', fhirUser: `Practitioner/${id}` });

beforeAll(async () => {
  server = await startServer({ AUDIT_SINK: 'store' });
  admin = fhirClient(server.fhirUrl);
  await seed(admin, [...recordOf('p1'), ...recordOf('p2'), ...recordOf('p3'), fixtures.practitioner('d1'), fixtures.practitioner('d2')]);
  await seed(admin, [privacyConsent('p2-deny-d1', 'p2', aboutActor('deny', 'Practitioner/d1'))]);
  d1 = fhirClient(server.fhirUrl, { token: await server.token(practitioner('d1')) });
  d2 = fhirClient(server.fhirUrl, { token: await server.token(practitioner('d2')) });
  p2 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs user/Consent.cruds', role: 'patient', fhirUser: 'Patient/p2' }) });
});
afterAll(() => server.destroy());

const noP2 = (bundle: Bundle) => expect(ids(bundle).filter((id) => id.includes('p2'))).toEqual([]);

describe('consent gate: Patient p2 denies Practitioner d1 (opt-out deployment)', () => {
  it('reads, vreads and instance histories of p2 data are 404 for d1, 200 for d2', async () => {
    for (const path of ['Patient/p2', 'MedicationRequest/p2-mr', 'MedicationRequest/p2-mr/_history/1', 'MedicationRequest/p2-mr/_history', 'Appointment/p2-appt']) {
      expect((await d1.get(path)).status, `d1 ${path}`).toBe(404);
      expect((await d2.get(path)).status, `d2 ${path}`).toBe(200);
    }
    expect((await d1.get('Patient/p1')).status).toBe(200);
    expect((await d1.get('Practitioner/d2')).status).toBe(200);
  });

  it('searches, _total and paging never count p2 data', async () => {
    const page = await d1.get<Bundle>('MedicationRequest?_count=1&_total=accurate');
    expect(page.body.total).toBe(2);
    const all = await d1.get<Bundle>('MedicationRequest');
    expect(ids(all.body).sort()).toEqual(['MedicationRequest/p1-mr', 'MedicationRequest/p3-mr']);
    expect((await d1.get<Bundle>('Patient?_summary=count')).body.total).toBe(2);
    expect((await d2.get<Bundle>('MedicationRequest')).body.total).toBe(3);
  });

  it('lists sorted by a search value, and their pages, never hold p2 data', async () => {
    for (const path of ['Patient?_sort=family', 'Patient?_sort=-family', 'MedicationRequest?_sort=-authoredon', 'Appointment?_sort=date']) {
      const [of1, of2] = [await d1.get<Bundle>(path), await d2.get<Bundle>(path)];
      noP2(of1.body);
      expect(of1.body.total, path).toBe((of2.body.total ?? 0) - 1);
      expect(ids(of2.body).some((id) => id.includes('p2')), path).toBe(true);
      // Page by page, following the links.
      const seen: string[] = [];
      let next: string | undefined = `${path}&_count=1`;
      while (next) {
        const page: Bundle = (await d1.get<Bundle>(next)).body;
        seen.push(...ids(page));
        next = page.link?.find((l) => l.relation === 'next')?.url;
      }
      expect(seen, path).toEqual(ids(of1.body));
    }
  });

  it('_include, _revinclude, chained and _has searches leak nothing of p2', async () => {
    noP2((await d1.get<Bundle>('MedicationRequest?_include=MedicationRequest:subject')).body);
    const rev = await d1.get<Bundle>('Patient?_revinclude=MedicationRequest:subject&_revinclude=Appointment:actor');
    noP2(rev.body);
    expect(ids(rev.body)).toContain('MedicationRequest/p1-mr');
    const chained = await d1.get<Bundle>('MedicationRequest?subject.family=Family-p2');
    expect([chained.status, chained.body.total]).toEqual([200, 0]);
    const has = await d1.get<Bundle>('Patient?_has:MedicationRequest:subject:status=active');
    noP2(has.body);
    expect(has.body.total).toBe(2);
    // With other criteria, the _has is asked about their matches only: those are gated the same way.
    const narrowed = await d1.get<Bundle>('Patient?_id=p1,p2,p3&_has:MedicationRequest:subject:status=active');
    noP2(narrowed.body);
    expect(narrowed.body.total).toBe(2);
    // p1's Appointment search revincluding by a d2-visible chain still hides p2.
    noP2((await d1.get<Bundle>('Appointment?_include=Appointment:actor')).body);
  });

  it('type and system histories, compartment search and $everything leak nothing of p2', async () => {
    noP2((await d1.get<Bundle>('MedicationRequest/_history')).body);
    expect((await d1.get('Patient/p2/MedicationRequest')).status).toBe(404);
    expect((await d1.get('Patient/p2/$everything')).status).toBe(404);
    expect((await d2.get('Patient/p2/$everything')).status).toBe(200);
    noP2((await d1.get<Bundle>('Patient/p1/$everything')).body);
  });

  it('bundle GET entries are gated like direct reads', async () => {
    const batch = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'GET', url: 'Patient/p2' } }, { request: { method: 'GET', url: 'Patient/p1' } }, { request: { method: 'GET', url: 'MedicationRequest?_total=accurate' } }],
    };
    const res = await d1.post<Bundle>('', batch);
    expect(res.status).toBe(200);
    expect(res.body.entry?.map((e) => e.response?.status.slice(0, 3))).toEqual(['404', '200', '200']);
    expect((res.body.entry?.[2]?.resource as Bundle).total).toBe(2);
  });

  it('writes to p2 data are refused for d1', async () => {
    const writer = fhirClient(server.fhirUrl, { token: await server.token({ ...practitioner('d1'), scope: 'user/*.cruds' }) });
    expect((await writer.put('MedicationRequest/p2-mr', { ...fixtures.medicationRequest('p2-mr', 'p2') })).status).toBe(404);
    // Deleting what is withheld is answered as deleting what does not exist, and deletes nothing.
    expect((await writer.delete('MedicationRequest/p2-mr')).status).toBe(200);
    expect((await admin.get('MedicationRequest/p2-mr')).status).toBe(200);
    // A practitioner never writes an active Consent (403, whoever the patient: test/consent/authority.test.ts).
    expect((await d1.put('Consent/p2-consent', { ...fixtures.consent('p2-consent', 'p2') })).status).toBe(403);
  });

  it('the patient always reaches their own records and Consents; backend services are not filtered', async () => {
    expect((await p2.get('Patient/p2')).status).toBe(200);
    expect((await p2.get('Consent/p2-deny-d1')).status).toBe(200);
    expect((await admin.get<Bundle>('MedicationRequest')).body.total).toBe(3);
  });

  it('break-glass: d1 with purpose ETREAT reads p2, and the access is flagged in its AuditEvent', async () => {
    const res = await d1.get('Patient/p2', { 'X-Purpose-Of-Use': 'ETREAT' });
    expect(res.status).toBe(200);
    expect((await d1.get<Bundle>('MedicationRequest', { 'X-Purpose-Of-Use': 'ETREAT' })).body.total).toBe(3);
    const audits = await admin.get<Bundle>('AuditEvent?patient=Patient/p2&_count=1000');
    const flagged = audits.body.entry?.map((e) => e.resource as AuditEvent).filter((a) => a.extension?.some((x) => x.url === BREAK_GLASS_EXTENSION && x.valueBoolean));
    expect(flagged?.length).toBeGreaterThanOrEqual(1);
    const read = flagged!.find((a) => a.subtype?.[0]?.code === 'read')!;
    expect(read.entity?.map((e) => e.what?.reference)).toContain('Consent/p2-deny-d1');
    expect(read.purposeOfEvent?.[0]?.coding?.[0]?.code).toBe('ETREAT');
    expect(read.agent?.[0]?.who?.reference).toBe('Practitioner/d1');
    // Without the purpose, still denied.
    expect((await d1.get('Patient/p2')).status).toBe(404);
  });
});

describe('revocation and access requests', () => {
  it('a revoked Consent stops denying on the very next request', async () => {
    expect((await d1.get('Patient/p2')).status).toBe(404);
    const current = (await p2.get('Consent/p2-deny-d1')).body;
    expect((await p2.put('Consent/p2-deny-d1', { ...current, status: 'inactive' })).status).toBe(200);
    expect((await d1.get('Patient/p2')).status).toBe(200);
    expect((await d1.get<Bundle>('MedicationRequest')).body.total).toBe(3);
    expect((await p2.put('Consent/p2-deny-d1', { ...current, status: 'active' })).status).toBe(200);
    expect((await d1.get('Patient/p2')).status).toBe(404);
  });

  it('a practitioner proposes a Consent naming themselves; the patient activates or rejects it', async () => {
    const proposal = privacyConsent('p3-request-d1', 'p3', aboutActor('permit', 'Practitioner/d1'), 'proposed');
    expect((await d1.put('Consent/p3-request-d1', proposal)).status).toBe(201);
    const p3 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs user/Consent.cruds', role: 'patient', fhirUser: 'Patient/p3' }) });
    const stored = (await p3.get('Consent/p3-request-d1')).body;
    expect(stored.status).toBe('proposed');
    expect((await p3.put('Consent/p3-request-d1', { ...stored, status: 'rejected' })).status).toBe(200);
    expect((await p3.put('Consent/p3-request-d1', { ...stored, status: 'active' })).status).toBe(200);
    // p2 cannot decide p3's Consents.
    expect((await p2.put('Consent/p3-request-d1', { ...stored, status: 'rejected' })).status).toBe(403);
  });
});

describe('opt-in deployment (CONSENT_DEFAULT=opt-in, CONSENT_DENIED_READ_STATUS=403)', () => {
  let optIn: TestServer;
  afterAll(() => optIn?.destroy());

  it('shows a practitioner only the patients whose Consents permit them', async () => {
    optIn = await startServer({ CONSENT_DEFAULT: 'opt-in', CONSENT_DENIED_READ_STATUS: '403' });
    const root = fhirClient(optIn.fhirUrl);
    await seed(root, [...recordOf('p1'), ...recordOf('p2'), fixtures.practitioner('d1')]);
    await seed(root, [privacyConsent('p1-permit-d1', 'p1', aboutActor('permit', 'Practitioner/d1'))]);
    const doctor = fhirClient(optIn.fhirUrl, { token: await optIn.token(practitioner('d1')) });
    expect((await doctor.get('Patient/p1')).status).toBe(200);
    expect((await doctor.get('Patient/p2')).status).toBe(403);
    const search = await doctor.get<Bundle>('MedicationRequest');
    expect([search.body.total, ids(search.body)]).toEqual([1, ['MedicationRequest/p1-mr']]);
  });
});
