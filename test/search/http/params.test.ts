import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient, type FhirClient } from '../../support/fhir-client.js';
import { startServer, type TestServer } from '../../support/server.js';
import { matchIds, put, search, seedCorpus } from './support.js';

// Generated patients carry this identifier system, so each query can be scoped to them.
const SYS = 'urn:fhirgate:test:params';
const SCOPE = `identifier=${encodeURIComponent(`${SYS}|`)}`;
const PROFILE = 'http://example.org/fhir/StructureDefinition/test-patient';
const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

let server: TestServer;
let fhir: FhirClient;
const stored = new Map<string, Patient>();

function patient(id: string, extra: Partial<Patient>): Patient & { id: string } {
  return { resourceType: 'Patient', id, identifier: [{ system: SYS, value: id }], ...extra };
}

const GENERATED: Array<Patient & { id: string }> = [
  patient('p-ada', {
    name: [{ family: 'Ångström', given: ['Ada'] }],
    gender: 'female',
    birthDate: '1980-05-01',
    active: true,
    address: [{ city: 'Paris' }],
    meta: { tag: [{ system: 'urn:t', code: 'alpha' }], profile: [PROFILE] },
  }),
  patient('p-bob', {
    name: [{ family: 'Angstrom-Smith', given: ['Bob'] }],
    gender: 'male',
    birthDate: '1990-12-31',
    active: false,
    address: [{ city: 'Paris' }],
    meta: { tag: [{ system: 'urn:t', code: 'beta' }], security: [{ system: CONFIDENTIALITY, code: 'R' }] },
  }),
  patient('p-love', {
    name: [{ family: 'Lovelace', given: ['Ada', 'Augusta'] }],
    gender: 'female',
    birthDate: '1815-12-10',
    deceasedDateTime: '1852-11-27',
    meta: { tag: [{ system: 'urn:t', code: 'alpha' }, { system: 'urn:t', code: 'beta' }] },
  }),
  patient('p-comma', { name: [{ family: 'Smith,Jones' }], gender: 'other', birthDate: '2001' }),
  patient('p-escape', {
    name: [{ family: 'Dollar$Back\\slash' }],
    identifier: [
      { system: SYS, value: 'p-escape' },
      { system: 'urn:pipes', value: 'a|b' },
    ],
  }),
];

beforeAll(async () => {
  // The official examples are historical records (dispenses of other drugs, of stopped orders): loaded as data, without the workflow rules (issue 17).
  server = await startServer({ FHIR_WORKFLOW_RULES: 'false' });
  fhir = fhirClient(server.fhirUrl);
  await seedCorpus(fhir);
  for (const p of GENERATED) stored.set(p.id, await put(fhir, p));
});
afterAll(() => server.destroy());

/** Matches of a query scoped to the generated patients. */
async function generated(query: string): Promise<string[]> {
  return matchIds(await search(fhir, `Patient?${SCOPE}&${query}`));
}

describe('parameter types and modifiers, against the generated patients', () => {
  it.each([
    // string: starts-with, case and accent insensitive; :exact; :contains
    ['family=angstrom', ['p-ada', 'p-bob']],
    ['family=ÅNGSTRÖM', ['p-ada', 'p-bob']],
    ['family:exact=Ångström', ['p-ada']],
    ['family:exact=angström', []],
    ['family:contains=smith', ['p-bob', 'p-comma']],
    ['given=ada', ['p-ada', 'p-love']],
    ['name=augusta', ['p-love']],
    // Patient.address is encrypted at rest by default (issue 9): exact matches only, through the blind index.
    ['address-city:exact=Paris', ['p-ada', 'p-bob']],
    // token: code, system|code, :not, :missing, booleans
    ['gender=female', ['p-ada', 'p-love']],
    ['gender:not=female', ['p-bob', 'p-comma', 'p-escape']],
    ['active=true', ['p-ada']],
    ['active=false', ['p-bob']],
    ['active:missing=true', ['p-comma', 'p-escape', 'p-love']],
    ['identifier=p-bob', ['p-bob']],
    ['deceased=true', ['p-love']],
    // date: precision ranges and prefixes
    ['birthdate=1980', ['p-ada']],
    ['birthdate=1980-05', ['p-ada']],
    ['birthdate=ge1990-01-01', ['p-bob', 'p-comma']],
    ['birthdate=lt1900', ['p-love']],
    // `gt`: the range above the value overlaps the year 2001 (search.html#prefix)
    ['birthdate=gt2001-06-01', ['p-comma']],
    ['birthdate=gt2002', []],
    ['birthdate=2001-06-01', []],
    ['birthdate:missing=true', ['p-escape']],
    ['death-date=1852', ['p-love']],
    // common parameters
    ['_id=p-ada', ['p-ada']],
    ['_tag=alpha', ['p-ada', 'p-love']],
    ['_tag=urn:t|beta', ['p-bob', 'p-love']],
    [`_profile=${encodeURIComponent(PROFILE)}`, ['p-ada']],
    [`_security=${encodeURIComponent(`${CONFIDENTIALITY}|R`)}`, ['p-bob']],
  ])('Patient?%s', async (query, expected) => {
    expect(await generated(query)).toEqual([...expected].sort());
  });

  it('_lastUpdated compares with the stored meta.lastUpdated', async () => {
    const last = stored.get('p-escape')!.meta!.lastUpdated!;
    const first = stored.get('p-ada')!.meta!.lastUpdated!;
    expect(await generated(`_lastUpdated=ge${encodeURIComponent(last)}`)).toEqual(['p-escape']);
    expect(await generated(`_lastUpdated=lt${encodeURIComponent(first)}`)).toEqual([]);
    expect(await generated(`_lastUpdated=ge${encodeURIComponent(first)}`)).toHaveLength(GENERATED.length);
  });

  it('tokens and strings of the official examples: :of-type, system|value', async () => {
    const mr = encodeURIComponent('http://terminology.hl7.org/CodeSystem/v2-0203|MR|654321');
    expect(matchIds(await search(fhir, `Patient?identifier:of-type=${mr}`))).toEqual(['pat1']);
    expect(matchIds(await search(fhir, `Practitioner?identifier=${encodeURIComponent('urn:oid:2.16.528.1.1007.3.1|118265112')}`))).toEqual(['f004', 'f005']);
    expect(matchIds(await search(fhir, 'Practitioner?family=van'))).toEqual(['f001', 'f006']);
    const consents = matchIds(await search(fhir, 'Consent?patient=Patient/f001&category=59284-0'));
    expect(consents).toEqual(['basic', 'notAuthor', 'notOrg', 'notThem', 'notThis', 'notTime', 'Out'].map((s) => `consent-example-${s}`).sort());
  });

  it('references: Type/id, bare id, :Type, absolute URL of this server, :missing, :identifier', async () => {
    const all = matchIds(await search(fhir, 'MedicationRequest?subject=Patient/pat1&_count=100'));
    expect(all).toHaveLength(40);
    expect(matchIds(await search(fhir, 'MedicationRequest?subject=pat1&_count=100'))).toEqual(all);
    expect(matchIds(await search(fhir, 'MedicationRequest?subject:Patient=pat1&_count=100'))).toEqual(all);
    expect(matchIds(await search(fhir, `MedicationRequest?subject=${encodeURIComponent(`${server.fhirUrl}/Patient/pat1`)}&_count=100`))).toEqual(all);
    expect(matchIds(await search(fhir, 'Appointment?actor=Practitioner/f202'))).toEqual(['2docs']);
    expect(matchIds(await search(fhir, 'Patient?general-practitioner:missing=false'))).toEqual(['glossy', 'infant-mom']);
    expect(matchIds(await search(fhir, 'MedicationDispense?receiver=Patient/pat1'))).toEqual(['meddisp0301']);
  });
});

describe('AND, OR and escaping', () => {
  it('a comma ORs values; a repeated parameter ANDs them', async () => {
    expect(await generated('gender=male,other')).toEqual(['p-bob', 'p-comma']);
    expect(await generated('given=ada&given=augusta')).toEqual(['p-love']);
    expect(await generated('_tag=alpha&_tag=beta')).toEqual(['p-love']);
    expect(await generated('_tag=alpha,beta&gender=female')).toEqual(['p-ada', 'p-love']);
    expect(await generated('birthdate=ge1800&birthdate=lt1985')).toEqual(['p-ada', 'p-love']);
  });

  it('\\, is a literal comma, \\$ a dollar, \\\\ a backslash, \\| a bar', async () => {
    expect(await generated(`family:exact=${encodeURIComponent('Smith\\,Jones')}`)).toEqual(['p-comma']);
    // Unescaped, the comma splits: exactly "Smith" OR exactly "Jones", which nobody is.
    expect(await generated(`family:exact=${encodeURIComponent('Smith,Jones')}`)).toEqual([]);
    expect(await generated(`family=${encodeURIComponent('Dollar\\$')}`)).toEqual(['p-escape']);
    expect(await generated(`family:exact=${encodeURIComponent('Dollar$Back\\\\slash')}`)).toEqual(['p-escape']);
    expect(await generated(`identifier=${encodeURIComponent('urn:pipes|a\\|b')}`)).toEqual(['p-escape']);
  });
});
