import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';

const SYS = 'urn:fhirgate:test:blind';
const SSN = 'http://hl7.org/fhir/sid/us-ssn';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

let server: TestServer;
let fhir: FhirClient;

function patient(id: string, extra: Partial<Patient>): Patient & { id: string } {
  return { resourceType: 'Patient', id, ...extra, identifier: [{ system: SYS, value: id }, ...(extra.identifier ?? [])] };
}

const PATIENTS = [
  patient('b-ann', {
    telecom: [
      { system: 'phone', value: '+1 555 0101' },
      { system: 'email', value: 'ann@example.org' },
    ],
    address: [{ city: 'Springfield', line: ['1 Elm St'], use: 'home' }],
    identifier: [{ system: SSN, value: '123-45-6789', type: { coding: [{ system: V2_0203, code: 'SS' }] } }],
  }),
  patient('b-bob', {
    telecom: [{ system: 'phone', value: '+1 555 0202' }],
    address: [{ city: 'Shelbyville', use: 'work' }],
    identifier: [{ value: 'NO-SYSTEM-1' }],
  }),
  patient('b-cyd', { name: [{ family: 'Nocontact' }] }),
];

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
  for (const p of PATIENTS) expect((await fhir.put(`Patient/${p.id}`, p)).status).toBe(201);
});
afterAll(() => server.destroy());

async function ids(query: string, headers?: Record<string, string>): Promise<string[]> {
  const res = await fhir.get<Bundle>(`Patient?identifier=${encodeURIComponent(`${SYS}|`)}&${query}`, headers);
  expect(res.status, res.text.slice(0, 400)).toBe(200);
  return (res.body.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!).sort();
}

describe('exact-match search over encrypted elements, through the blind index', () => {
  it.each([
    ['phone=%2B1%20555%200101', ['b-ann']],
    ['email=ann@example.org', ['b-ann']],
    ['telecom=%2B1%20555%200202', ['b-bob']],
    ['telecom=%2B1%20555%200101,%2B1%20555%200202', ['b-ann', 'b-bob']],
    ['phone=%2B1%20555', []],
    [`identifier=${encodeURIComponent(`${SSN}|123-45-6789`)}`, ['b-ann']],
    ['identifier=123-45-6789', ['b-ann']],
    ['identifier=%7CNO-SYSTEM-1', ['b-bob']],
    [`identifier=${encodeURIComponent(`${SSN}|`)}`, ['b-ann']],
    [`identifier:of-type=${encodeURIComponent(`${V2_0203}|SS|123-45-6789`)}`, ['b-ann']],
    ['phone:not=%2B1%20555%200101', ['b-bob', 'b-cyd']],
    ['telecom:missing=true', ['b-cyd']],
    ['address:missing=false', ['b-ann', 'b-bob']],
    ['address-city:exact=Springfield', ['b-ann']],
    ['address-use=work', ['b-bob']],
    ['address:exact=1%20Elm%20St', ['b-ann']],
  ])('Patient?%s', async (query, expected) => {
    expect(await ids(query)).toEqual(expected);
  });

  it('works in chains and _has too', async () => {
    await fhir.put('MedicationRequest/b-mr', {
      resourceType: 'MedicationRequest',
      id: 'b-mr',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/b-ann' },
      medicationCodeableConcept: { text: 'x' },
    });
    const chained = await fhir.get<Bundle>(`MedicationRequest?subject:Patient.phone=${encodeURIComponent('+1 555 0101')}`);
    expect(chained.body.entry?.map((e) => e.resource!.id)).toEqual(['b-mr']);
  });
});

describe('other searches on encrypted elements are refused with a 400, lenient or strict', () => {
  it.each([
    ['address-city=spring', /only exact matches \(:exact\)/],
    ['address:contains=elm', /only exact matches/],
    ['address=1%20Elm', /Patient\.address/],
    ['identifier:text=social', /only code, system\|code/],
    ['phone:in=http://example.org/vs', /only code/],
    ['_sort=address-city', /cannot be sorted on/],
    ['_sort=-phone', /cannot be sorted on/],
  ])('Patient?%s', async (query, message) => {
    for (const handling of ['lenient', 'strict']) {
      const res = await fhir.get(`Patient?${query}`, { Prefer: `handling=${handling}` });
      expect(res.status, res.text.slice(0, 300)).toBe(400);
      expect(errorCode(res.body)).toBe('bad-request');
      expect(res.body.issue[0].diagnostics).toMatch(message);
      expect(res.body.issue[0].diagnostics).toMatch(/encrypted elements/);
    }
  });

  it('parameters over elements in clear keep every search type (name, MRN identifiers of Practitioners)', async () => {
    expect(await ids('name=nocon')).toEqual(['b-cyd']);
    expect((await fhir.get('Practitioner?address-city=x')).status).toBe(200);
    expect((await fhir.get('Patient?_sort=name')).status).toBe(200);
  });
});

describe('the search index never holds encrypted elements in clear', () => {
  it('holds keyed hashes for their parameters, no sort values, and the index key id', async () => {
    const [record] = await server.app.store.find('current', { resourceType: 'Patient', id: 'b-ann' });
    const index = record.index!;
    const json = JSON.stringify(index);
    for (const secret of ['555 0101', 'ann@example.org', 'Springfield', 'Elm', '123-45-6789', 'home']) expect(json).not.toContain(secret);
    expect(index.phone).toEqual([{ h: expect.arrayContaining([expect.stringMatching(/^[A-Za-z0-9_-]{22}$/)]) }]);
    expect(Object.keys(index).filter((k) => /^(address|phone|email|telecom|identifier)[\w-]*__sort/.test(k))).toEqual([]);
    expect(index.__bidx).toMatch(/^index-/);
    // Parameters over elements in clear are indexed as before.
    expect(index.deceased).toEqual([{ c: 'false' }]);
  });
});
