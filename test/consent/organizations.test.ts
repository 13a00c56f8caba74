import type { AuditEvent, Bundle, PractitionerRole, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, seed } from '../auth/fixtures.js';
import { exported, kickOff, poll } from '../export/support.js';
import { testClock } from '../support/clock.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { aboutActor, ids, medicationRequest, privacyConsent } from './support.js';

/**
 * Issue 21: a Consent naming an Organization (what the portal writes for "everyone at ...") is about
 * every practitioner who acts for it through a PractitionerRole in force (active, period covering now).
 */
const organization = (id: string): Resource => ({ resourceType: 'Organization', id, name: `Clinic ${id}` });
const role = (id: string, practitioner: string, org: string, extra: Partial<PractitionerRole> = {}): PractitionerRole => ({
  resourceType: 'PractitionerRole',
  id,
  active: true,
  practitioner: { reference: `Practitioner/${practitioner}` },
  organization: { reference: `Organization/${org}` },
  ...extra,
});
const asPractitioner = (fhirUser: string) => ({ scope: 'user/*.rs', role: 'practitioner', fhirUser, clientId: 'ehr', subject: fhirUser });
const record = (p: string): Resource[] => [fixtures.patient(p), medicationRequest(p, 'mr1'), medicationRequest(p, 'mr2')];

describe('opt-in: a patient grants Organization/A', () => {
  let server: TestServer;
  let admin: FhirClient;
  /** Practitioner da acts for A (role ra), db for B (role rb). */
  let da: FhirClient;
  let db: FhirClient;
  let daToken: string;
  const clock = testClock();

  beforeAll(async () => {
    server = await startServer({ CONSENT_DEFAULT: 'opt-in', CONSENT_DENIED_READ_STATUS: '403', AUDIT_SINK: 'store' }, undefined, { clock: clock.now });
    admin = fhirClient(server.fhirUrl);
    await seed(admin, [organization('A'), organization('B'), fixtures.practitioner('da'), fixtures.practitioner('db'), fixtures.practitioner('dr'), ...record('pg'), ...record('pn')]);
    await seed(admin, [role('ra', 'da', 'A'), role('rb', 'db', 'B'), role('rr', 'dr', 'B')]);
    // As the portal writes "everyone at Clinic A may see your record".
    await seed(admin, [privacyConsent('c-org', 'pg', aboutActor('permit', 'Organization/A'))]);
    daToken = await server.token(asPractitioner('Practitioner/da'));
    da = fhirClient(server.fhirUrl, { token: daToken });
    db = fhirClient(server.fhirUrl, { token: await server.token(asPractitioner('Practitioner/db')) });
  });
  afterAll(() => server.destroy());

  const seesPg = async (who: FhirClient): Promise<void> => {
    expect((await who.get('MedicationRequest/pg-mr1')).status).toBe(200);
    const found = await who.get<Bundle>('MedicationRequest?_count=100&_total=accurate');
    expect([ids(found.body).sort(), found.body.total]).toEqual([['MedicationRequest/pg-mr1', 'MedicationRequest/pg-mr2'], 2]);
  };
  const seesNothing = async (who: FhirClient): Promise<void> => {
    expect((await who.get('MedicationRequest/pg-mr1')).status).toBe(403);
    const found = await who.get<Bundle>('MedicationRequest?_count=100&_total=accurate');
    expect([ids(found.body), found.body.total]).toEqual([[], 0]);
  };

  it('a practitioner with a PractitionerRole at A reads and searches the patient; the audit record names the grant', async () => {
    await seesPg(da);
    expect((await da.get('Patient/pn')).status).toBe(403);
    const trail = await admin.get<Bundle>('AuditEvent?patient=Patient/pg&_count=1000');
    const read = (trail.body.entry ?? []).map((e) => e.resource as AuditEvent).find((a) => a.subtype?.[0]?.code === 'read' && a.outcome === '0');
    expect(read?.entity?.map((e) => e.what?.reference)).toContain('Consent/c-org');
  });

  it('the grant reaches includes, history, compartment search, $everything and export', async () => {
    const included = await da.get<Bundle>('MedicationRequest?_include=MedicationRequest:subject');
    expect(ids(included.body).sort()).toEqual(['MedicationRequest/pg-mr1', 'MedicationRequest/pg-mr2', 'Patient/pg']);
    expect((await da.get<Bundle>('MedicationRequest/pg-mr1/_history')).status).toBe(200);
    expect(ids((await da.get<Bundle>('MedicationRequest/_history')).body).sort()).toEqual(['MedicationRequest/pg-mr1', 'MedicationRequest/pg-mr2']);
    expect(ids((await da.get<Bundle>('Patient/pg/MedicationRequest')).body).sort()).toEqual(['MedicationRequest/pg-mr1', 'MedicationRequest/pg-mr2']);
    expect(ids((await da.get<Bundle>('Patient/pg/$everything')).body)).toEqual(expect.arrayContaining(['Patient/pg', 'MedicationRequest/pg-mr1', 'MedicationRequest/pg-mr2']));
    expect((await da.get('Patient/pn/$everything')).status).toBe(403);
    const res = await poll(da, await kickOff(da, 'Patient/$export?_type=Patient,MedicationRequest'));
    expect(res.status).toBe(200);
    expect(await exported(res.body, daToken)).toEqual(['MedicationRequest/pg-mr1', 'MedicationRequest/pg-mr2', 'Patient/pg']);
  });

  it('a practitioner at B sees nothing of the patient, in reads, searches, includes and $everything', async () => {
    await seesNothing(db);
    expect(ids((await db.get<Bundle>('Patient?_revinclude=MedicationRequest:subject')).body)).toEqual([]);
    expect((await db.get('Patient/pg/$everything')).status).toBe(403);
  });

  it('a role that ended or was deactivated no longer grants, from the next request on', async () => {
    await seesPg(da);
    await seed(admin, [role('ra', 'da', 'A', { period: { start: '2020-01-01', end: '2021-01-01' } })]);
    await seesNothing(da);
    await seed(admin, [role('ra', 'da', 'A', { period: { start: '2020-01-01' } })]);
    await seesPg(da);
    await seed(admin, [role('ra', 'da', 'A', { active: false })]);
    await seesNothing(da);
  });

  it('a role whose period ends as the clock passes it stops granting, with no write', async () => {
    const end = clock.now().getTime() + 60_000;
    await seed(admin, [role('ra', 'da', 'A', { period: { end: new Date(end).toISOString() } })]);
    await seesPg(da);
    clock.passTo(end);
    await seesNothing(da);
  });

  it('a practitioner who moves to A through a new role is granted on the next request; a PractitionerRole fhirUser acts for its organization', async () => {
    const dr = fhirClient(server.fhirUrl, { token: await server.token(asPractitioner('Practitioner/dr')) });
    await seesNothing(dr);
    await seed(admin, [role('rr2', 'dr', 'A')]);
    await seesPg(dr);
    const asRole = fhirClient(server.fhirUrl, { token: await server.token(asPractitioner('PractitionerRole/rr2')) });
    await seesPg(asRole);
    await seesNothing(fhirClient(server.fhirUrl, { token: await server.token(asPractitioner('PractitionerRole/rb')) }));
  });

  it('a Consent naming a PractitionerRole grants the practitioner holding it', async () => {
    await seed(admin, [privacyConsent('c-role', 'pn', aboutActor('permit', 'PractitionerRole/rb'))]);
    expect((await db.get('MedicationRequest/pn-mr1')).status).toBe(200);
    expect(ids((await db.get<Bundle>('MedicationRequest')).body).sort()).toEqual(['MedicationRequest/pn-mr1', 'MedicationRequest/pn-mr2']);
  });
});

describe('opt-out: a patient denies Organization/A', () => {
  let server: TestServer;
  let da: FhirClient;
  let db: FhirClient;

  beforeAll(async () => {
    server = await startServer({});
    const admin = fhirClient(server.fhirUrl);
    await seed(admin, [organization('A'), organization('B'), fixtures.practitioner('da'), fixtures.practitioner('db'), ...record('pd'), ...record('po')]);
    await seed(admin, [role('ra', 'da', 'A'), role('rb', 'db', 'B'), privacyConsent('c-deny', 'pd', aboutActor('deny', 'Organization/A'))]);
    da = fhirClient(server.fhirUrl, { token: await server.token(asPractitioner('Practitioner/da')) });
    db = fhirClient(server.fhirUrl, { token: await server.token(asPractitioner('Practitioner/db')) });
  });
  afterAll(() => server.destroy());

  it("the organization's members are denied (as if the data did not exist); others are not", async () => {
    for (const path of ['Patient/pd', 'MedicationRequest/pd-mr1', 'MedicationRequest/pd-mr1/_history']) {
      expect((await da.get(path)).status, `da ${path}`).toBe(404);
      expect((await db.get(path)).status, `db ${path}`).toBe(200);
    }
    expect(ids((await da.get<Bundle>('MedicationRequest')).body).sort()).toEqual(['MedicationRequest/po-mr1', 'MedicationRequest/po-mr2']);
    expect((await da.get<Bundle>('MedicationRequest?_total=accurate')).body.total).toBe(2);
    expect((await db.get<Bundle>('MedicationRequest?_total=accurate')).body.total).toBe(4);
    expect(ids((await da.get<Bundle>('MedicationRequest?_include=MedicationRequest:subject')).body).filter((id) => id.includes('pd'))).toEqual([]);
    expect((await da.get('Patient/pd/$everything')).status).toBe(404);
  });
});
