import { describe, expect, it } from 'vitest';
import type { Resource } from '@medplum/fhirtypes';
import { DISPENSES, MEDICATION_REQUESTS, PATIENTS, RXNORM } from './fixtures.js';
import { corpusExamples, testIndex, WITH_EXAMPLES } from './support.js';

const index = testIndex();
const byId = (resources: Resource[], id: string): Resource => resources.find((r) => r.id === id) as Resource;

/** Keys each parameter type's entries may have (the layout documented in src/search/index/fields.ts). */
const ENTRY_KEYS: Record<string, ReadonlySet<string>> = {
  string: new Set(['f', 'e']),
  token: new Set(['s', 'c', 't', 'ty']),
  reference: new Set(['r', 't', 'i', 'is', 'iv']),
  date: new Set(['lo', 'hi']),
  number: new Set(['v', 'lo', 'hi']),
  quantity: new Set(['v', 'lo', 'hi', 's', 'c', 'u']),
  uri: new Set(['u']),
};

describe('extract: composites', () => {
  it('keeps the components of each element together', () => {
    const appointment = index.extract({
      resourceType: 'Appointment',
      status: 'booked',
      participant: [
        { status: 'accepted', actor: { reference: 'Patient/p1' } },
        { status: 'declined', actor: { reference: 'Practitioner/d1' } },
        { status: 'tentative' }, // no actor: this element cannot match the composite
      ],
    } as Resource);
    expect(appointment['status-actor']).toEqual([
      { 'part-status': [{ c: 'accepted' }], actor: [{ r: 'Patient/p1' }] },
      { 'part-status': [{ c: 'declined' }], actor: [{ r: 'Practitioner/d1' }] },
    ]);
    expect(appointment).not.toHaveProperty('status-actor__sort_asc');
  });
});

describe('extract: the index document', () => {
  it('stores a Patient as compact entries plus two sort scalars per parameter', () => {
    const extracted = index.extract(byId(PATIENTS, 'gen-muller'));
    expect(extracted).toMatchObject({
      family: [{ f: 'muller', e: 'Müller' }],
      family__sort_asc: 'muller',
      family__sort_desc: 'muller',
      name: [{ f: 'muller', e: 'Müller' }, { f: 'zoe', e: 'Zoë' }],
      name__sort_asc: 'muller zoe',
      address: [{ f: 'bahnhofstrasse 1', e: 'Bahnhofstrasse 1' }, { f: 'zurich', e: 'Zürich' }],
      gender: [{ s: 'http://hl7.org/fhir/administrative-gender', c: 'female' }],
      identifier: [{ s: 'urn:mrn', c: 'M1', t: 'medical record', ty: [{ s: 'http://terminology.hl7.org/CodeSystem/v2-0203', c: 'MR' }] }],
      birthdate: [{ lo: '1990-06-15T00:00:00.000Z', hi: '1990-06-15T23:59:59.999Z' }],
      birthdate__sort_asc: '1990-06-15T00:00:00.000Z',
      birthdate__sort_desc: '1990-06-15T23:59:59.999Z',
      _tag: [{ s: 'urn:t', c: 'vip' }],
      _profile: [{ u: 'http://x.org/fhir/StructureDefinition/p|1.0' }, { u: 'http://x.org/fhir/StructureDefinition/p' }],
      telecom: [{ c: 'zoe@example.org' }],
      email: [{ c: 'zoe@example.org' }],
      phonetic: [{ f: 'm460' }, { f: 'z000' }],
      deceased: [{ c: 'false' }], // the official expression is false, not empty, without deceased[x]
    });
    // answered from the record's own fields, and absent parameters are absent
    for (const key of ['_id', '_lastUpdated', 'birthdate__sort', 'death-date', 'general-practitioner', 'active']) expect(extracted).not.toHaveProperty(key);
  });

  it('keeps the smallest and largest value of a multi-valued parameter for sorting', () => {
    expect(index.extract(byId(PATIENTS, 'gen-smyth'))).toMatchObject({
      family: [{ f: 'smyth', e: 'Smyth' }, { f: 'zed', e: 'Zed' }],
      family__sort_asc: 'smyth',
      family__sort_desc: 'zed',
      'death-date': [{ lo: '2020-02-29T11:30:00.000Z', hi: '2020-02-29T11:30:00.999Z' }],
      deceased: [{ c: 'true' }],
      organization: [{ is: 'urn:org', iv: 'O1' }],
      link: [{ r: 'http://other.org/fhir/Patient/99' }],
    });
    expect(index.extract(byId(MEDICATION_REQUESTS, 'gen-mr-t3'))).toMatchObject({
      date: [
        { lo: '2021-02-01T08:00:00.000Z', hi: '2021-02-01T08:00:00.999Z' },
        { lo: '2021-04-01T08:00:00.000Z', hi: '2021-04-01T08:00:00.999Z' },
      ],
      date__sort_asc: '2021-02-01T08:00:00.000Z',
      date__sort_desc: '2021-04-01T08:00:00.999Z',
    });
  });

  it('normalizes references and concept texts', () => {
    expect(index.extract(byId(MEDICATION_REQUESTS, 'gen-mr-abs'))).toMatchObject({
      subject: [{ r: 'Patient/gen-smith' }],
      patient: [{ r: 'Patient/gen-smith' }],
      code: [{ s: RXNORM, c: '1049502', t: 'acetaminophen 325 mg oral tablet' }, { t: 'tylenol fur kinder' }],
      code__sort_asc: '1049502',
      code__sort_desc: '1049502',
    });
    expect(index.extract(byId(MEDICATION_REQUESTS, 'gen-mr-group'))).not.toHaveProperty('patient');
    expect(index.extract(byId(MEDICATION_REQUESTS, 'gen-mr-contained'))).not.toHaveProperty('medication');
  });

  it('stores quantities with their range, units and comparator', () => {
    expect(index.extract(byId(DISPENSES, 'gen-md-5mg')).quantity).toEqual([{ v: 5, lo: 4.5, hi: 5.5, s: 'http://unitsofmeasure.org', c: 'mg', u: 'mg' }]);
    expect(index.extract(byId(DISPENSES, 'gen-md-lt10')).quantity).toEqual([
      { v: 10, lo: -Number.MAX_VALUE, hi: 10.5, s: 'http://unitsofmeasure.org', c: 'mL', u: 'mL' },
    ]);
  });

  it('rejects a resource of a type that is not served', () => {
    expect(() => index.extract({ resourceType: 'Observation' } as Resource)).toThrow(expect.objectContaining({ code: 'unknown-type' }));
  });
});

describe('extract over every official example of the served types', () => {
  it.each(WITH_EXAMPLES)('%s: Mongo-safe keys, documented entry shapes, JSON-stable values', (type) => {
    const params = index.params(type);
    for (const resource of corpusExamples(type)) {
      const extracted = index.extract(resource);
      expect(JSON.parse(JSON.stringify(extracted))).toEqual(extracted);
      for (const [key, value] of Object.entries(extracted)) {
        expect(key).not.toMatch(/^\$|\./);
        const sort = /^(.*)__sort_(asc|desc)$/.exec(key);
        if (sort) {
          expect(params.has(sort[1]), key).toBe(true);
          expect(['string', 'number']).toContain(typeof value);
          continue;
        }
        const def = params.get(key);
        expect(def, `${resource.id}: ${key}`).toBeDefined();
        expect(Array.isArray(value) && value.length > 0).toBe(true);
        const allowed = def!.type === 'composite' ? new Set(def!.component?.map((c) => c.code)) : ENTRY_KEYS[def!.type];
        for (const entry of value as Array<Record<string, unknown>>) {
          for (const field of Object.keys(entry)) expect(allowed.has(field), `${resource.id}: ${key}.${field}`).toBe(true);
        }
      }
    }
  });

  it('indexes what the examples obviously hold', () => {
    const patient = index.extract(corpusExamples('Patient').find((p) => p.id === 'example') as Resource);
    expect(patient.family).toEqual([{ f: 'chalmers', e: 'Chalmers' }, { f: 'windsor', e: 'Windsor' }]);
    expect(patient.organization).toEqual([{ r: 'Organization/1' }]);
    const audit = index.extract(corpusExamples('AuditEvent').find((a) => a.id === 'example-disclosure') as Resource);
    // the second entity is `Patient/example/_history/1` with an identifier: same target, kept with its identifier
    expect(audit.patient).toEqual([
      { r: 'Patient/example' },
      { r: 'Patient/example', iv: 'What.id' },
    ]);
  });
});
