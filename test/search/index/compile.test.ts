import { describe, expect, it } from 'vitest';
import { FhirError } from '../../../src/fhir/errors.js';
import { BASE_URL, testIndex } from './support.js';

const index = testIndex();
const GENDER = 'http://hl7.org/fhir/administrative-gender';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const Y2024 = { lo: '2024-01-01T00:00:00.000Z', hi: '2024-12-31T23:59:59.999Z' };
const FEMALE_OR_OTHER = { $or: [{ s: GENDER, c: { $in: ['female', 'other'] } }, { c: { $in: ['female', 'other'] }, s: { $exists: false } }] };
const CONTAINED_2024 = { lo: { $gte: Y2024.lo }, hi: { $lte: Y2024.hi } };

type Case = [type: string, code: string, modifier: string | undefined, values: string[], expected: unknown];

const STRING: Case[] = [
  ['Patient', 'family', undefined, ['Chal'], { 'index.family.f': { $regex: '^chal' } }],
  ['Patient', 'family', undefined, ['MÜLLER'], { 'index.family.f': { $regex: '^muller' } }],
  ['Patient', 'family', 'contains', ['ALM'], { 'index.family.f': { $regex: 'alm' } }],
  ['Patient', 'family', 'exact', ['Chalmers'], { 'index.family.e': 'Chalmers' }],
  ['Patient', 'family', undefined, ['a', 'b'], { $or: [{ 'index.family.f': { $regex: '^a' } }, { 'index.family.f': { $regex: '^b' } }] }],
  // user text is data: regex metacharacters are escaped, operators stay operands
  ['Patient', 'family', undefined, ['.*(a+)+$'], { 'index.family.f': { $regex: '^\\.\\*\\(a\\+\\)\\+\\$' } }],
  ['Patient', 'family', 'exact', ['{"$gt":""}'], { 'index.family.e': '{"$gt":""}' }],
  ['Patient', 'address', 'contains', ['erewhon st'], { 'index.address.f': { $regex: 'erewhon st' } }],
  ['Patient', 'phonetic', undefined, ['Smyth'], { 'index.phonetic.f': 's530' }],
  ['Patient', 'phonetic', undefined, ['Peter Smyth'], { $and: [{ 'index.phonetic.f': 'p360' }, { 'index.phonetic.f': 's530' }] }],
];

const TOKEN: Case[] = [
  ['Patient', 'gender', undefined, ['male'], { 'index.gender.c': 'male' }],
  ['Patient', 'gender', undefined, [`${GENDER}|male`], { 'index.gender': { $elemMatch: { s: GENDER, c: 'male' } } }],
  ['Patient', 'identifier', undefined, ['|12345'], { 'index.identifier': { $elemMatch: { c: '12345', s: { $exists: false } } } }],
  ['Patient', 'identifier', undefined, ['urn:oid:1.2.36|'], { 'index.identifier.s': 'urn:oid:1.2.36' }],
  ['Patient', 'gender', 'not', ['male'], { 'index.gender': { $not: { $elemMatch: { c: 'male' } } } }],
  ['Patient', 'gender', 'not', ['male', 'female'], { 'index.gender': { $not: { $elemMatch: { $or: [{ c: 'male' }, { c: 'female' }] } } } }],
  ['MedicationRequest', 'code', 'text', ['Head ache'], { 'index.code.t': { $regex: '(?:^|\\s)head ache' } }],
  [
    'Patient',
    'identifier',
    'of-type',
    [`${V2_0203}|MR|12345`],
    { 'index.identifier': { $elemMatch: { c: '12345', ty: { $elemMatch: { s: V2_0203, c: 'MR' } } } } },
  ],
  ['Patient', 'active', undefined, ['true'], { 'index.active.c': 'true' }],
  ['Patient', 'telecom', undefined, ['555-1234'], { 'index.telecom.c': '555-1234' }],
  ['Patient', '_tag', undefined, ['urn:t|x'], { 'index._tag': { $elemMatch: { s: 'urn:t', c: 'x' } } }],
  [
    'Patient',
    'gender',
    'in',
    ['https://fhirgate.test/ValueSet/female-or-other'],
    { 'index.gender': { $elemMatch: FEMALE_OR_OTHER } },
  ],
  [
    'Patient',
    'gender',
    'not-in',
    ['https://fhirgate.test/ValueSet/female-or-other'],
    { 'index.gender': { $not: { $elemMatch: FEMALE_OR_OTHER } } },
  ],
  ['Patient', '_id', undefined, ['a'], { id: 'a' }],
  ['Patient', '_id', undefined, ['a', 'b'], { id: { $in: ['a', 'b'] } }],
  ['Patient', '_id', 'not', ['a'], { id: { $nin: ['a'] } }],
];

const REFERENCE: Case[] = [
  ['MedicationRequest', 'subject', undefined, ['Patient/123'], { 'index.subject.r': 'Patient/123' }],
  ['MedicationRequest', 'subject', undefined, ['Patient/123/_history/2'], { 'index.subject.r': 'Patient/123' }],
  // A bare id: that id of each target type (subject: Patient or Group).
  ['MedicationRequest', 'subject', undefined, ['123'], { 'index.subject.r': { $in: ['Group/123', 'Patient/123'] } }],
  ['MedicationRequest', 'patient', undefined, ['123'], { 'index.patient.r': 'Patient/123' }],
  ['MedicationRequest', 'subject', 'Patient', ['123'], { 'index.subject.r': 'Patient/123' }],
  ['MedicationRequest', 'subject', 'Patient', ['Patient/123'], { 'index.subject.r': 'Patient/123' }],
  ['MedicationRequest', 'subject', undefined, [`${BASE_URL}/Patient/123`], { 'index.subject.r': 'Patient/123' }],
  ['MedicationRequest', 'subject', undefined, ['http://other.org/fhir/Patient/123'], { 'index.subject.r': 'http://other.org/fhir/Patient/123' }],
  ['MedicationRequest', 'subject', 'identifier', ['urn:mrn|42'], { 'index.subject': { $elemMatch: { is: 'urn:mrn', iv: '42' } } }],
  ['MedicationRequest', 'subject', 'identifier', ['42'], { 'index.subject.iv': '42' }],
  ['MedicationRequest', 'subject', undefined, ['Patient/1', 'Group/2'], { $or: [{ 'index.subject.r': 'Patient/1' }, { 'index.subject.r': 'Group/2' }] }],
];

const DATE: Case[] = [
  ['Patient', 'birthdate', undefined, ['2024'], { 'index.birthdate': { $elemMatch: CONTAINED_2024 } }],
  ['Patient', 'birthdate', 'missing', ['true'], { 'index.birthdate': { $exists: false } }],
  [
    'Patient',
    'birthdate',
    undefined,
    ['eq2024-02'],
    { 'index.birthdate': { $elemMatch: { lo: { $gte: '2024-02-01T00:00:00.000Z' }, hi: { $lte: '2024-02-29T23:59:59.999Z' } } } },
  ],
  // A disjunction of single conditions: one dotted path each, answered from the store's index (issue 13).
  ['Patient', 'birthdate', undefined, ['ne2024'], { $or: [{ 'index.birthdate.lo': { $lt: Y2024.lo } }, { 'index.birthdate.hi': { $gt: Y2024.hi } }] }],
  ['Patient', 'birthdate', undefined, ['gt2024'], { 'index.birthdate.hi': { $gt: Y2024.hi } }],
  ['Patient', 'birthdate', undefined, ['lt2024'], { 'index.birthdate.lo': { $lt: Y2024.lo } }],
  // ge is gt or eq: `hi > sHi or (lo >= sLo and hi <= sHi)`, which for a stored range is `hi > sHi or lo >= sLo`.
  ['Patient', 'birthdate', undefined, ['ge2024'], { $or: [{ 'index.birthdate.hi': { $gt: Y2024.hi } }, { 'index.birthdate.lo': { $gte: Y2024.lo } }] }],
  ['Patient', 'birthdate', undefined, ['le2024'], { $or: [{ 'index.birthdate.lo': { $lt: Y2024.lo } }, { 'index.birthdate.hi': { $lte: Y2024.hi } }] }],
  ['Patient', 'birthdate', undefined, ['sa2024'], { 'index.birthdate.lo': { $gt: Y2024.hi } }],
  ['Patient', 'birthdate', undefined, ['eb2024'], { 'index.birthdate.hi': { $lt: Y2024.lo } }],
  // ap: 10% of the gap to "now" (2025-01-01): the gap from 2015-01-01 is 3653 days, so ±365.3 days
  [
    'Patient',
    'birthdate',
    undefined,
    ['ap2015-01-01'],
    { 'index.birthdate': { $elemMatch: { lo: { $lte: '2016-01-02T07:11:59.999Z' }, hi: { $gte: '2013-12-31T16:48:00.000Z' } } } },
  ],
  [
    'AuditEvent',
    'date',
    undefined,
    ['2013-06-20T23:42+02:00'],
    { 'index.date': { $elemMatch: { lo: { $gte: '2013-06-20T21:42:00.000Z' }, hi: { $lte: '2013-06-20T21:42:59.999Z' } } } },
  ],
  ['Patient', '_lastUpdated', undefined, ['2024-01-01T10:00'], { lastUpdated: { $gte: '2024-01-01T10:00:00.000Z', $lte: '2024-01-01T10:00:59.999Z' } }],
  ['Patient', '_lastUpdated', undefined, ['gt2024'], { lastUpdated: { $gt: Y2024.hi } }],
  ['Patient', '_lastUpdated', undefined, ['ge2024'], { lastUpdated: { $gte: Y2024.lo } }],
  ['Patient', '_lastUpdated', undefined, ['le2024'], { lastUpdated: { $lte: Y2024.hi } }],
  ['Patient', '_lastUpdated', 'missing', ['false'], { lastUpdated: { $exists: true } }],
];

const NUMBER: Case[] = [
  ['Appointment', 'minutes', undefined, ['100'], { 'index.minutes': { $elemMatch: { v: { $gte: 99.5, $lt: 100.5 } } } }],
  ['Appointment', 'minutes', undefined, ['100.00'], { 'index.minutes': { $elemMatch: { v: { $gte: 99.995, $lt: 100.005 } } } }],
  ['Appointment', 'minutes', undefined, ['1e2'], { 'index.minutes': { $elemMatch: { v: { $gte: 50, $lt: 150 } } } }],
  ['Appointment', 'minutes', undefined, ['ne100'], { $or: [{ 'index.minutes.v': { $lt: 99.5 } }, { 'index.minutes.v': { $gte: 100.5 } }] }],
  ['Appointment', 'minutes', undefined, ['gt100'], { 'index.minutes.v': { $gt: 100 } }],
  ['Appointment', 'minutes', undefined, ['le-2.5'], { 'index.minutes.v': { $lte: -2.5 } }],
  ['Appointment', 'minutes', undefined, ['sa100'], { 'index.minutes.lo': { $gte: 100.5 } }],
  ['Appointment', 'minutes', undefined, ['eb100'], { 'index.minutes.hi': { $lte: 99.5 } }],
  ['Appointment', 'minutes', undefined, ['ap100'], { 'index.minutes': { $elemMatch: { v: { $gte: 90, $lte: 110 } } } }],
  ['MedicationDispense', 'quantity', undefined, ['5'], { 'index.quantity': { $elemMatch: { v: { $gte: 4.5, $lt: 5.5 } } } }],
  [
    'MedicationDispense',
    'quantity',
    undefined,
    ['5|http://unitsofmeasure.org|mg'],
    { 'index.quantity': { $elemMatch: { v: { $gte: 4.5, $lt: 5.5 }, s: 'http://unitsofmeasure.org', c: 'mg' } } },
  ],
  ['MedicationDispense', 'quantity', undefined, ['gt5||mg'], { 'index.quantity': { $elemMatch: { v: { $gt: 5 }, $or: [{ c: 'mg' }, { u: 'mg' }] } } }],
  [
    'MedicationDispense',
    'quantity',
    undefined,
    ['ne5||mg'],
    { 'index.quantity': { $elemMatch: { $and: [{ $or: [{ v: { $lt: 4.5 } }, { v: { $gte: 5.5 } }] }, { $or: [{ c: 'mg' }, { u: 'mg' }] }] } } },
  ],
];

const URI: Case[] = [
  ['Patient', '_profile', undefined, ['http://x.org/fhir/StructureDefinition/p'], { 'index._profile.u': 'http://x.org/fhir/StructureDefinition/p' }],
  ['Patient', '_profile', 'below', ['http://x.org/fhir/'], { 'index._profile.u': { $regex: '^http://x\\.org/fhir/' } }],
  [
    'Patient',
    '_profile',
    'above',
    ['http://x.org/fhir/StructureDefinition/p'],
    {
      'index._profile.u': {
        $in: [
          'http://x.org/fhir/StructureDefinition/p',
          'http://x.org',
          'http://x.org/',
          'http://x.org/fhir',
          'http://x.org/fhir/',
          'http://x.org/fhir/StructureDefinition',
          'http://x.org/fhir/StructureDefinition/',
        ],
      },
    },
  ],
  ['AuditEvent', 'policy', 'missing', ['false'], { 'index.policy': { $exists: true } }],
];

const COMPOSITE: Case[] = [
  [
    'Appointment',
    'status-actor',
    undefined,
    ['accepted$Patient/1'],
    { 'index.status-actor': { $elemMatch: { 'part-status': { $elemMatch: { c: 'accepted' } }, actor: { $elemMatch: { r: 'Patient/1' } } } } },
  ],
  [
    'MedicationDispense',
    'status-quantity',
    undefined,
    ['completed$le5|http://unitsofmeasure.org|mg'],
    { 'index.status-quantity': { $elemMatch: { status: { $elemMatch: { c: 'completed' } }, quantity: { $elemMatch: { v: { $lte: 5 }, s: 'http://unitsofmeasure.org', c: 'mg' } } } } },
  ],
];

describe('compile emits these exact documents', () => {
  for (const [name, cases] of Object.entries({ STRING, TOKEN, REFERENCE, DATE, NUMBER, URI, COMPOSITE })) {
    describe(name.toLowerCase(), () => {
      const labelled = cases.map((c) => [`${c[0]}?${c[1]}${c[2] ? `:${c[2]}` : ''}=${c[3].join(',')}`, ...c] as const);
      it.each(labelled)('%s', (_label, type, code, modifier, values, expected) => {
        expect(index.compile(type, code, modifier, values)).toEqual(expected);
      });
    });
  }
});

const ERRORS: Array<[type: string, code: string, modifier: string | undefined, values: string[], message: RegExp]> = [
  ['Patient', 'nope', undefined, ['x'], /Unknown search parameter 'nope'/],
  ['Patient', 'family', 'not', ['x'], /Modifier ':not' is not supported/],
  ['Patient', 'gender', 'exact', ['x'], /Modifier ':exact'/],
  ['Patient', 'gender', 'below', ['x'], /Modifier ':below'/],
  ['Patient', 'birthdate', 'exact', ['2024'], /Modifier ':exact'/],
  ['Patient', '_id', 'contains', ['x'], /Modifier ':contains'/],
  ['Patient', 'phonetic', 'exact', ['x'], /Modifier ':exact'/],
  ['Patient', 'birthdate', undefined, ['yesterday'], /Invalid value 'yesterday'/],
  ['Patient', 'birthdate', undefined, ['2023-02-29'], /Invalid value '2023-02-29'/],
  ['Patient', 'birthdate', undefined, ['2024-01-01T25:00'], /Invalid value/],
  ['Patient', 'birthdate', undefined, ['xx2024'], /Invalid value 'xx2024'/],
  ['Appointment', 'minutes', undefined, ['ten'], /Invalid value 'ten'/],
  ['MedicationDispense', 'quantity', undefined, ['5|mg'], /Invalid value '5\|mg'/],
  ['Patient', 'identifier', 'of-type', ['MR|12345'], /type-system\|type-code\|value/],
  ['Patient', 'gender', 'missing', ['maybe'], /takes true or false/],
  ['Patient', 'gender', undefined, [''], /non-empty value/],
  ['Patient', 'gender', undefined, ['|'], /non-empty value/],
  ['Patient', 'family', undefined, ['\u0301'], /non-empty value/],
  ['Patient', 'gender', undefined, [], /needs a value/],
  ['Patient', 'gender', 'in', ['https://fhirgate.test/ValueSet/unknown'], /not known to this server/],
  ['Patient', 'gender', 'in', ['https://fhirgate.test/ValueSet/broken'], /cannot be expanded/],
  ['MedicationRequest', 'subject', 'Organization', ['1'], /not a target type/],
  ['MedicationRequest', 'subject', 'Patient', ['Group/1'], /does not reference a Patient/],
  ['MedicationRequest', 'subject', undefined, ['not a reference'], /expected Type\/id/],
  ['Appointment', 'status-actor', undefined, ['accepted'], /expected \[part-status\]\$\[actor\]/],
  ['Appointment', 'status-actor', 'exact', ['accepted$Patient/1'], /Modifier ':exact'/],
  ['MedicationDispense', 'status-quantity', undefined, ['completed$five'], /Invalid value 'five'/],
];

describe('compile rejects malformed values and unsupported modifiers with bad-request', () => {
  it.each(ERRORS)('%s?%s:%s=%s', (type, code, modifier, values, message) => {
    let thrown: unknown;
    try {
      index.compile(type, code, modifier, values);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FhirError);
    expect((thrown as FhirError).code).toBe('bad-request');
    expect((thrown as FhirError).message).toMatch(message);
  });

  it('answers unknown-type for a type that is not served', () => {
    expect(() => index.compile('Observation', 'code', undefined, ['x'])).toThrow(expect.objectContaining({ code: 'unknown-type' }));
  });
});

describe('compileReferenceIn, referencesOf, sortField', () => {
  it('matches records pointing at any of the references', () => {
    expect(index.compileReferenceIn('MedicationRequest', 'subject', ['Patient/1', 'Patient/2', 'Patient/1'])).toEqual({
      'index.subject.r': { $in: ['Patient/1', 'Patient/2'] },
    });
    expect(() => index.compileReferenceIn('MedicationRequest', 'status', ['Patient/1'])).toThrow(/not a reference/);
  });

  it('lists the local Type/id references a record holds, without duplicates or external URLs', () => {
    const record = {
      resourceType: 'Appointment',
      index: {
        actor: [{ r: 'Patient/1', t: 'Patient', i: '1' }, { r: 'http://other.org/fhir/Practitioner/2', t: 'Practitioner' }, { iv: '42' }, { r: 'Patient/1' }],
      },
    };
    expect(index.referencesOf(record, 'actor')).toEqual(['Patient/1']);
    expect(index.referencesOf(record, 'patient')).toEqual([]);
    expect(index.referencesOf({ resourceType: 'Appointment' }, 'actor')).toEqual([]);
  });

  it('gives one scalar field per direction, record fields for _id and _lastUpdated', () => {
    expect(index.sortField('Patient', 'birthdate', 1)).toBe('index.birthdate__sort_asc');
    expect(index.sortField('Patient', 'birthdate', -1)).toBe('index.birthdate__sort_desc');
    expect(index.sortField('Patient', '_id', -1)).toBe('id');
    expect(index.sortField('Patient', '_lastUpdated', 1)).toBe('lastUpdated');
    expect(() => index.sortField('Patient', 'nope', 1)).toThrow(/Unknown search parameter/);
    expect(() => index.sortField('Appointment', 'status-actor', 1)).toThrow(/cannot be sorted/);
  });
});
