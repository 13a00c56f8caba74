import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Patient } from '@medplum/fhirtypes';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { aboutActor, privacyConsent } from '../consent/support.js';

/**
 * Issue 18 item 5: `Patient/$match` over HTTP with real tokens. Two hospitals register the same
 * person under their own MRN systems; the national number (encrypted at rest, blind-indexed)
 * and the demographics link them.
 */
let server: TestServer;
let admin: FhirClient;
const HOSP_A = 'urn:oid:1.2.3.4.100';
const HOSP_B = 'urn:oid:1.2.3.4.200';
const SSN = 'http://hl7.org/fhir/sid/us-ssn';

const person = (id: string, fields: Partial<Patient>): Patient => ({ resourceType: 'Patient', id, active: true, ...fields });
const PATIENTS: Patient[] = [
  person('ada-a', { identifier: [{ system: HOSP_A, value: 'A-100' }, { system: SSN, value: '123-45-6789' }], name: [{ family: 'Lovelace', given: ['Ada'] }], birthDate: '1815-12-10', gender: 'female' }),
  // Same person at hospital B, with an accent in the name and no national number.
  person('ada-b', { identifier: [{ system: HOSP_B, value: 'B-7' }], name: [{ family: 'Lovelacé', given: ['Ada', 'Augusta'] }], birthDate: '1815-12-10', gender: 'female' }),
  // Same name, another birth date: another person.
  person('ada-other', { identifier: [{ system: HOSP_A, value: 'A-999' }], name: [{ family: 'Lovelace', given: ['Ada'] }], birthDate: '1900-01-01', gender: 'female' }),
  person('alan', { identifier: [{ system: HOSP_A, value: 'A-200' }], name: [{ family: 'Turing', given: ['Alan'] }], birthDate: '1912-06-23', gender: 'male' }),
  // Merged away: never offered.
  person('ada-old', { active: false, identifier: [{ system: HOSP_A, value: 'A-OLD' }], name: [{ family: 'Lovelace', given: ['Ada'] }], birthDate: '1815-12-10', link: [{ type: 'replaced-by', other: { reference: 'Patient/ada-a' } }] }),
];

const matchBody = (resource: Patient, extra: Array<Record<string, unknown>> = []) => ({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource }, ...extra] });
const matched = (bundle: any): Array<{ id: string; score: number; grade: string }> =>
  (bundle.entry ?? []).map((e: any) => ({ id: e.resource.id, score: e.search.score, grade: e.search.extension.find((x: any) => x.url === 'http://hl7.org/fhir/StructureDefinition/match-grade').valueCode }));
const clientFor = async (role: string, fhirUser: string, scope = 'user/*.cruds') => fhirClient(server.fhirUrl, { token: await server.token({ role, fhirUser, scope }) });

beforeAll(async () => {
  server = await startServer();
  admin = fhirClient(server.fhirUrl);
  for (const p of PATIENTS) expect((await admin.put(`Patient/${p.id}`, p)).status).toBeLessThan(300);
  await admin.put('Practitioner/doc', { resourceType: 'Practitioner', id: 'doc', name: [{ family: 'Doc' }] });
});
afterAll(() => server.destroy());

describe('Patient/$match', () => {
  it('matches across hospitals: the national number of one, the demographics of the other, scored and graded', async () => {
    const doc = await clientFor('practitioner', 'Practitioner/doc');
    const query = person('q', { identifier: [{ system: HOSP_B, value: 'B-NEW' }, { system: SSN, value: '123-45-6789' }], name: [{ family: 'LOVELACE', given: ['ada'] }], birthDate: '1815-12-10', gender: 'female' });
    const res = await doc.post('Patient/$match', matchBody(query));
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(res.body.entry[0].search.mode).toBe('match');
    // ada-a: identifier 50 + birth 20 + family 15 + given 10 + gender 5; ada-b: no shared identifier, and B-7 ≠ B-NEW in B's system (-30).
    expect(matched(res.body)).toEqual([
      { id: 'ada-a', score: 1, grade: 'certain' },
    ]);
  });

  it('grades demographics alone as possible, never certain, and leaves out other birth dates and merged-away Patients', async () => {
    const doc = await clientFor('practitioner', 'Practitioner/doc');
    const res = await doc.post('Patient/$match', matchBody(person('q', { name: [{ family: 'Lovelace', given: ['Ada'] }], birthDate: '1815-12-10', gender: 'female' })));
    expect(res.status, res.text).toBe(200);
    expect(matched(res.body)).toEqual([
      { id: 'ada-a', score: 0.5, grade: 'possible' },
      { id: 'ada-b', score: 0.5, grade: 'possible' },
    ]);
  });

  it('onlyCertainMatches returns the one certain match; count bounds the rest', async () => {
    const doc = await clientFor('practitioner', 'Practitioner/doc');
    const query = person('q', { identifier: [{ system: HOSP_A, value: 'A-100' }], name: [{ family: 'Lovelace', given: ['Ada'] }], birthDate: '1815-12-10' });
    const all = await doc.post('Patient/$match', matchBody(query));
    expect(matched(all.body).map((m) => m.grade)).toEqual(['certain', 'possible']);
    const certain = await doc.post('Patient/$match', matchBody(query, [{ name: 'onlyCertainMatches', valueBoolean: true }]));
    expect(matched(certain.body)).toEqual([{ id: 'ada-a', score: 0.95, grade: 'certain' }]);
    const one = await doc.post('Patient/$match', matchBody(person('q', { name: [{ family: 'Lovelace', given: ['Ada'] }], birthDate: '1815-12-10' }), [{ name: 'count', valueInteger: 1 }]));
    expect(matched(one.body)).toHaveLength(1);
  });

  it('returns only what the requester may see: a patient their own record, nothing withheld by Consent', async () => {
    const query = matchBody(person('q', { name: [{ family: 'Lovelace', given: ['Ada'] }], birthDate: '1815-12-10' }));
    const patient = await clientFor('patient', 'Patient/ada-b', 'patient/*.rs');
    expect(matched((await patient.post('Patient/$match', query)).body).map((m) => m.id)).toEqual(['ada-b']);
    // ada-b withholds her record from this practitioner.
    expect((await admin.put('Consent/ada-b-deny', privacyConsent('ada-b-deny', 'ada-b', aboutActor('deny', 'Practitioner/doc')))).status).toBeLessThan(300);
    const doc = await clientFor('practitioner', 'Practitioner/doc');
    expect(matched((await doc.post('Patient/$match', query)).body).map((m) => m.id)).toEqual(['ada-a']);
    await admin.delete('Consent/ada-b-deny');
  });

  it('is refused to roles without Patient search, and audited with the matches returned', async () => {
    const adminRole = await clientFor('admin', 'Practitioner/doc');
    const refused = await adminRole.post('Patient/$match', matchBody(person('q', { name: [{ family: 'Turing' }], birthDate: '1912-06-23' })));
    expect(refused.status).toBe(403);
    expect(errorCode(refused.body)).toBe('forbidden');

    const doc = await clientFor('practitioner', 'Practitioner/doc');
    expect(matched((await doc.post('Patient/$match', matchBody(person('q', { name: [{ family: 'Turing' }], birthDate: '1912-06-23' })))).body).map((m) => m.id)).toEqual(['alan']);
    const events = (await admin.get('AuditEvent?patient=Patient/alan&_count=50')).body.entry.map((e: any) => e.resource);
    const audit = events.find((e: any) => e.subtype?.some((s: any) => s.code === 'match'));
    expect(audit).toBeDefined();
    expect(audit.agent[0].who.reference).toBe('Practitioner/doc');
    expect(audit.outcome).toBe('0');
  });

  it.each([
    ['no resource', { resourceType: 'Parameters', parameter: [] }],
    ['not a Patient', { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Practitioner' } }] }],
    ['nothing to match on', matchBody(person('q', { gender: 'female' }))],
    ['a bad count', matchBody(person('q', { name: [{ family: 'X' }], birthDate: '2000-01-01' }), [{ name: 'count', valueInteger: 0 }])],
    ['a body that is not Parameters', person('q', { name: [{ family: 'X' }] })],
  ])('refuses %s with 400', async (_name, body) => {
    const res = await admin.post('Patient/$match', body);
    expect(res.status, res.text).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('is listed in the CapabilityStatement on Patient only', async () => {
    const cs = (await admin.get('metadata')).body;
    const ops = (type: string) => cs.rest[0].resource.find((r: any) => r.type === type).operation.map((o: any) => o.name);
    expect(ops('Patient')).toEqual(expect.arrayContaining(['match', 'merge', 'new-patients']));
    expect(ops('Practitioner')).not.toContain('match');
    expect((await admin.post('Practitioner/$match', matchBody(person('q', {})))).status).toBe(501);
  });
});
