import type { Bundle, MedicationRequest, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, seed } from '../auth/fixtures.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { CODES, d1Actor, ids, medicationRequest, official, privacyConsent, type Part, type Row } from './support.js';

/**
 * Issue 8's matrix: Consents (official R4 examples, adapted to name our practitioner, and one per
 * kind of provision condition) × actors × interactions, each expected to permit or deny. Every
 * patient K has a Patient, two MedicationRequests and an Appointment:
 *   K-mr1: code A (no security label), authored 2020-05-01
 *   K-mr2: code X, security label N (normal), authored 2024-05-01
 */
const PARTS: Part[] = ['patient', 'mr1', 'mr2', 'appt'];

const ALL: Part[] = [...PARTS];
const ROWS: Row[] = [
  { patient: 'pout', consent: official('Out', 'c-out', 'pout', 'Practitioner/d1'), hidden: { d1: ALL, d2: [] } },
  { patient: 'pnotorg', consent: official('notOrg', 'c-notorg', 'pnotorg', 'Practitioner/d1'), hidden: { d1: ALL, d2: [] } },
  { patient: 'ppkb', consent: official('pkb', 'c-pkb', 'ppkb', 'Practitioner/d1'), hidden: { d1: ['mr2'], d2: [] } },
  { patient: 'pclass', consent: privacyConsent('c-class', 'pclass', d1Actor({ class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'MedicationRequest' }] })), hidden: { d1: ['mr1', 'mr2'], d2: [] } },
  { patient: 'pcode', consent: privacyConsent('c-code', 'pcode', d1Actor({ code: [{ coding: [{ system: CODES, code: 'X' }] }] })), hidden: { d1: ['mr2'], d2: [] } },
  { patient: 'pdate', consent: privacyConsent('c-date', 'pdate', d1Actor({ dataPeriod: { start: '2019-01-01', end: '2021-12-31' } })), hidden: { d1: ['mr1'], d2: [] } },
  { patient: 'pdata', consent: privacyConsent('c-data', 'pdata', d1Actor({ data: [{ meaning: 'instance', reference: { reference: 'MedicationRequest/pdata-mr1' } }] })), hidden: { d1: ['mr1'], d2: [] } },
  {
    patient: 'pnest',
    consent: privacyConsent('c-nest', 'pnest', { type: 'deny', provision: [{ type: 'permit', actor: d1Actor().actor }] }),
    hidden: { d1: [], d2: ALL },
  },
  { patient: 'popen', hidden: { d1: [], d2: [] } },
];

const refOf = (patient: string, part: Part): string =>
  part === 'patient' ? `Patient/${patient}` : part === 'appt' ? `Appointment/${patient}-appt` : `MedicationRequest/${patient}-${part}`;

let server: TestServer;
let admin: FhirClient;
const clients: Record<'d1' | 'd2', FhirClient> = {} as never;

beforeAll(async () => {
  server = await startServer();
  admin = fhirClient(server.fhirUrl);
  const data: Resource[] = [fixtures.practitioner('d1'), fixtures.practitioner('d2')];
  for (const { patient } of ROWS) data.push(fixtures.patient(patient), medicationRequest(patient, 'mr1'), medicationRequest(patient, 'mr2'), fixtures.appointment(`${patient}-appt`, patient));
  await seed(admin, data);
  await seed(admin, ROWS.flatMap((r) => (r.consent ? [r.consent] : [])));
  for (const who of ['d1', 'd2'] as const) {
    clients[who] = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.cruds', role: 'practitioner', fhirUser: `Practitioner/${who}` }) });
  }
});
afterAll(() => server.destroy());

const visible = (who: 'd1' | 'd2', row: Row, part: Part): boolean => !row.hidden[who].includes(part);
const expectedRefs = (who: 'd1' | 'd2', parts: Part[]): string[] => ROWS.flatMap((row) => parts.filter((p) => visible(who, row, p)).map((p) => refOf(row.patient, p))).sort();
const matches = (bundle: Bundle): string[] => (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();
const included = (bundle: Bundle): string[] => (bundle.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();

describe.each(['d1', 'd2'] as const)('consent matrix for Practitioner/%s (opt-out deployment)', (who) => {
  it('read and vread: 200 where permitted, 404 where withheld', async () => {
    for (const row of ROWS) {
      for (const part of PARTS) {
        const expected = visible(who, row, part) ? 200 : 404;
        expect((await clients[who].get(refOf(row.patient, part))).status, `${who} reads ${refOf(row.patient, part)}`).toBe(expected);
        expect((await clients[who].get(`${refOf(row.patient, part)}/_history/1`)).status, `${who} vreads ${refOf(row.patient, part)}`).toBe(expected);
      }
    }
  });

  it('search, _total, _summary=count and every page of a paged walk count only what is permitted', async () => {
    const expected = expectedRefs(who, ['mr1', 'mr2']);
    const all = await clients[who].get<Bundle>('MedicationRequest?_count=100');
    expect(matches(all.body)).toEqual(expected);
    expect(all.body.total).toBe(expected.length);
    expect((await clients[who].get<Bundle>('MedicationRequest?_summary=count')).body.total).toBe(expected.length);
    const walked: string[] = [];
    let next: string | undefined = 'MedicationRequest?_count=3';
    while (next) {
      const page: Bundle = (await clients[who].get<Bundle>(next)).body;
      expect(page.total).toBe(expected.length);
      expect(page.entry?.length ?? 0).toBeLessThanOrEqual(3);
      walked.push(...matches(page));
      next = page.link?.find((l) => l.relation === 'next')?.url;
    }
    expect(walked.sort()).toEqual(expected);
  });

  it('_include and _revinclude add only what is permitted', async () => {
    const withPatients = await clients[who].get<Bundle>('MedicationRequest?_include=MedicationRequest:subject&_count=100');
    expect(included(withPatients.body)).toEqual(ROWS.filter((r) => visible(who, r, 'patient') && (visible(who, r, 'mr1') || visible(who, r, 'mr2'))).map((r) => `Patient/${r.patient}`).sort());
    const rev = await clients[who].get<Bundle>('Patient?_revinclude=MedicationRequest:subject&_revinclude=Appointment:actor&_count=100');
    expect(matches(rev.body)).toEqual(expectedRefs(who, ['patient']));
    const expectedIncludes = ROWS.filter((r) => visible(who, r, 'patient')).flatMap((r) => (['mr1', 'mr2', 'appt'] as Part[]).filter((p) => visible(who, r, p)).map((p) => refOf(r.patient, p)));
    expect(included(rev.body)).toEqual(expectedIncludes.sort());
  });

  it('chained searches match only through permitted resources', async () => {
    for (const row of ROWS) {
      const res = await clients[who].get<Bundle>(`MedicationRequest?subject.family=Family-${row.patient}`);
      const expected = visible(who, row, 'patient') ? (['mr1', 'mr2'] as Part[]).filter((p) => visible(who, row, p)).map((p) => refOf(row.patient, p)) : [];
      expect(matches(res.body), `${who} chains to ${row.patient}`).toEqual(expected.sort());
      expect(res.body.total).toBe(expected.length);
    }
  });

  it('_has matches only through permitted resources', async () => {
    const res = await clients[who].get<Bundle>(`Patient?_has:MedicationRequest:subject:code=${CODES}|X&_count=100`);
    const expected = ROWS.filter((r) => visible(who, r, 'patient') && visible(who, r, 'mr2')).map((r) => `Patient/${r.patient}`);
    expect(matches(res.body)).toEqual(expected.sort());
    expect(res.body.total).toBe(expected.length);
  });

  it('compartment search and $everything return only what is permitted, and are 404 when nothing is', async () => {
    for (const row of ROWS) {
      const nothing = row.hidden[who].length === PARTS.length;
      const compartment = await clients[who].get<Bundle>(`Patient/${row.patient}/MedicationRequest`);
      const mrs = (['mr1', 'mr2'] as Part[]).filter((p) => visible(who, row, p)).map((p) => refOf(row.patient, p));
      if (nothing) expect(compartment.status).toBe(404);
      else expect([matches(compartment.body), compartment.body.total]).toEqual([mrs.sort(), mrs.length]);
      const everything = await clients[who].get<Bundle>(`Patient/${row.patient}/$everything?_type=Patient,MedicationRequest,Appointment&_count=100`);
      if (nothing) {
        expect(everything.status, `${who} $everything ${row.patient}`).toBe(404);
        continue;
      }
      const expected = PARTS.filter((p) => visible(who, row, p)).map((p) => refOf(row.patient, p)).sort();
      expect([matches(everything.body), everything.body.total], `${who} $everything ${row.patient}`).toEqual([expected, expected.length]);
    }
  });

  it('type history lists only permitted versions, with counts to match', async () => {
    const history = await clients[who].get<Bundle>('MedicationRequest/_history?_count=100');
    expect(ids(history.body).sort()).toEqual(expectedRefs(who, ['mr1', 'mr2']));
    // System history needs search on every type, which the practitioner role does not have (see below for a client that does).
    expect((await clients[who].get<Bundle>('_history')).status).toBe(403);
  });

  it('batch GET entries are decided like direct requests', async () => {
    const entry = ROWS.flatMap((row) => PARTS.map((part) => ({ request: { method: 'GET' as const, url: refOf(row.patient, part) } })));
    const res = await clients[who].post<Bundle>('', { resourceType: 'Bundle', type: 'batch', entry: [...entry, { request: { method: 'GET', url: 'MedicationRequest?_summary=count' } }] });
    expect(res.status).toBe(200);
    const statuses = res.body.entry!.map((e) => e.response?.status.slice(0, 3));
    expect(statuses.slice(0, -1)).toEqual(ROWS.flatMap((row) => PARTS.map((part) => (visible(who, row, part) ? '200' : '404'))));
    expect((res.body.entry!.at(-1)!.resource as Bundle).total).toBe(expectedRefs(who, ['mr1', 'mr2']).length);
  });
});

describe('writes are decided on what they would store', () => {
  it('a practitioner cannot create or move data into the record of a patient who denies them', async () => {
    const d1 = clients.d1;
    const into = (patient: string, id: string, code = 'A'): MedicationRequest => ({ ...medicationRequest(patient, 'mr1'), id, medicationCodeableConcept: { coding: [{ system: CODES, code }] } });
    expect((await d1.post('MedicationRequest', { ...into('pout', 'x'), id: undefined })).status).toBe(404);
    expect((await d1.put('MedicationRequest/pout-new', into('pout', 'pout-new'))).status).toBe(404);
    expect((await admin.get('MedicationRequest/pout-new')).status).toBe(404);
    // Code X of pcode is withheld from d1: neither created with it, nor changed to it by a patch.
    expect((await d1.put('MedicationRequest/pcode-new', into('pcode', 'pcode-new', 'X'))).status).toBe(404);
    const patch = [{ op: 'replace', path: '/medicationCodeableConcept/coding/0/code', value: 'X' }];
    const patched = await d1.request('PATCH', 'MedicationRequest/pcode-mr1', { body: patch, headers: { 'Content-Type': 'application/json-patch+json' } });
    expect(patched.status).toBe(404);
    expect(((await admin.get<MedicationRequest>('MedicationRequest/pcode-mr1')).body.medicationCodeableConcept?.coding?.[0]?.code)).toBe('A');
    // Elsewhere d1 writes as usual.
    expect((await d1.put('MedicationRequest/pcode-new', into('pcode', 'pcode-new', 'A'))).status).toBe(201);
  });
});

describe('system history and deletions, for a backend service subject to Consents (CONSENT_APPLIES_TO_SYSTEM=true)', () => {
  let subjected: TestServer;
  afterAll(() => subjected?.destroy());

  it('withholds every version of the denying patient, deletions included, and counts only the rest', async () => {
    subjected = await startServer({ CONSENT_APPLIES_TO_SYSTEM: 'true' });
    const system = fhirClient(subjected.fhirUrl);
    const rows = ROWS.filter((r) => r.patient === 'pnest' || r.patient === 'popen');
    for (const { patient } of rows) await seed(system, [fixtures.patient(patient), medicationRequest(patient, 'mr1'), medicationRequest(patient, 'mr2')]);
    expect((await system.delete('MedicationRequest/pnest-mr2')).status).toBeLessThan(300);
    expect((await system.delete('MedicationRequest/popen-mr2')).status).toBeLessThan(300);
    await seed(system, [rows[0].consent!]);
    // pnest denies everyone but d1; the service is no exception.
    const history = await system.get<Bundle>('_history?_count=500');
    expect(history.status).toBe(200);
    const refs = (history.body.entry ?? []).map((e) => e.fullUrl!.replace(/^.*\/fhir\//, ''));
    expect(refs.filter((r) => r.includes('pnest')), 'nothing of pnest, not even its deletion').toEqual([]);
    expect(refs.filter((r) => r.includes('popen')).sort()).toEqual(['MedicationRequest/popen-mr1', 'MedicationRequest/popen-mr2', 'MedicationRequest/popen-mr2', 'Patient/popen']);
    const typeHistory = await system.get<Bundle>('MedicationRequest/_history');
    expect([typeHistory.body.entry?.length, typeHistory.body.entry?.[0]?.request?.method]).toEqual([3, 'DELETE']);
  });
});
