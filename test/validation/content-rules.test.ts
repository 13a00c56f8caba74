import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../src/validation/create-validator.js';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../../src/validation/depth.js';
import type { Validator } from '../../src/validation/validator.js';
import { buildValidator, example, PROFILES_DIR, r4, SERVED_TYPES, TERMINOLOGY_DIR } from './support.js';

type Json = Record<string, any>;
type Expected = [OperationOutcomeIssue['severity'], OperationOutcomeIssue['code'], string];
interface Case {
  name: string;
  base: [string, string];
  mutate: (r: Json) => void;
  expected: Expected[];
}

const XHTML = 'http://www.w3.org/1999/xhtml';
const patient: [string, string] = ['Patient', 'example'];
const medrx: [string, string] = ['MedicationRequest', 'medrx0301'];
const div = (r: Json, html: string) => (r.text.div = html);

/** Issue 20, item 2: narrative. */
const NARRATIVE: Case[] = [
  { name: 'xml:lang and lang on the div', base: patient, mutate: (r) => div(r, `<div xmlns="${XHTML}" xml:lang="en" lang="en"><p>Peter</p></div>`), expected: [] },
  { name: 'xml:lang on an inner element', base: patient, mutate: (r) => div(r, `<div xmlns="${XHTML}"><p xml:lang="nl-BE">Pieter</p></div>`), expected: [] },
  { name: 'single-quoted xml:lang', base: patient, mutate: (r) => div(r, `<div xmlns="${XHTML}" xml:lang='fr'><p>Pierre</p></div>`), expected: [] },
  { name: 'no XHTML namespace', base: patient, mutate: (r) => div(r, '<div><p>Peter</p></div>'), expected: [['error', 'invariant', 'Patient.text.div']] },
  { name: 'another namespace', base: patient, mutate: (r) => div(r, '<div xmlns="http://www.w3.org/2000/svg"><p>Peter</p></div>'), expected: [['error', 'invariant', 'Patient.text.div'], ['error', 'invariant', 'Patient.text.div']] },
  { name: 'disallowed element with content: txt-1 only', base: patient, mutate: (r) => div(r, `<div xmlns="${XHTML}"><p>Peter</p><script>alert(1)</script></div>`), expected: [['error', 'invariant', 'Patient.text.div']] },
  { name: 'other prefixed attribute (xml:space) still refused', base: patient, mutate: (r) => div(r, `<div xmlns="${XHTML}" xml:space="preserve"><p>Peter</p></div>`), expected: [['error', 'invariant', 'Patient.text.div']] },
  { name: 'whitespace only: txt-2 only', base: patient, mutate: (r) => div(r, `<div xmlns="${XHTML}">  <p> </p> </div>`), expected: [['error', 'invariant', 'Patient.text.div']] },
  { name: 'an image is content', base: patient, mutate: (r) => div(r, `<div xmlns="${XHTML}"><img src="#photo" alt=""/></div>`), expected: [] },
  { name: 'empty and a disallowed element: both', base: patient, mutate: (r) => div(r, `<div xmlns="${XHTML}"><script> </script></div>`), expected: [['error', 'invariant', 'Patient.text.div'], ['error', 'invariant', 'Patient.text.div']] },
  { name: 'div that is not a string', base: patient, mutate: (r) => (r.text.div = 5), expected: [['error', 'structure', 'Patient.text.div']] },
  { name: 'narrative of a contained resource', base: medrx, mutate: (r) => (r.contained[0].text = { status: 'generated', div: `<div xmlns="${XHTML}" xml:lang="en"><p>x</p></div>` }), expected: [] },
];

/** Issue 20, item 3: FHIR JSON has no empty strings, arrays or objects. */
const EMPTY: Case[] = [
  { name: 'empty array', base: patient, mutate: (r) => (r.name = []), expected: [['error', 'structure', 'Patient.name']] },
  { name: 'empty uri (extension url)', base: patient, mutate: (r) => (r.extension = [{ url: '', valueString: 'x' }]), expected: [['error', 'structure', 'Patient.extension[0].url']] },
  { name: 'empty uri (identifier system)', base: patient, mutate: (r) => (r.identifier[0].system = ''), expected: [['error', 'structure', 'Patient.identifier[0].system']] },
  { name: 'empty string', base: patient, mutate: (r) => (r.name[0].family = ''), expected: [['error', 'structure', 'Patient.name[0].family']] },
  { name: 'empty string in a repeating primitive', base: patient, mutate: (r) => (r.name[0].given = ['Peter', '']), expected: [['error', 'structure', 'Patient.name[0].given[1]']] },
  { name: 'empty code', base: patient, mutate: (r) => (r.gender = ''), expected: [['error', 'structure', 'Patient.gender']] },
  { name: 'empty dateTime', base: medrx, mutate: (r) => (r.authoredOn = ''), expected: [['error', 'structure', 'MedicationRequest.authoredOn']] },
  { name: 'empty id', base: patient, mutate: (r) => (r.id = ''), expected: [['error', 'structure', 'Patient.id']] },
  { name: 'empty markdown', base: medrx, mutate: (r) => (r.note = [{ text: '' }]), expected: [['error', 'structure', 'MedicationRequest.note[0].text']] },
  { name: 'empty array of a primitive companion', base: patient, mutate: (r) => (r._address = []), expected: [['error', 'structure', 'Patient.address']] },
  { name: 'empty nested array', base: patient, mutate: (r) => (r.name[0].given = []), expected: [['error', 'structure', 'Patient.name[0].given']] },
  { name: 'empty array in a contained resource', base: medrx, mutate: (r) => (r.contained[0].identifier = []), expected: [['error', 'structure', 'MedicationRequest.contained[0].identifier']] },
  { name: 'empty object', base: patient, mutate: (r) => (r.maritalStatus = {}), expected: [['error', 'structure', 'Patient.maritalStatus']] },
  { name: 'empty object in an array', base: patient, mutate: (r) => r.telecom.push({}), expected: [['error', 'structure', 'Patient.telecom[4]']] },
  { name: 'empty primitive companion beside its value', base: patient, mutate: (r) => (r._birthDate = {}), expected: [['error', 'structure', 'Patient.birthDate']] },
  { name: 'empty meta', base: patient, mutate: (r) => (r.meta = {}), expected: [['error', 'structure', 'Patient.meta']] },
  { name: 'empty object in an extension value', base: patient, mutate: (r) => (r.extension = [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-nationality', extension: [{ url: 'period', valuePeriod: {} }] }]), expected: [['error', 'structure', 'Patient.extension[0].extension[0].value.ofType(Period)']] },
  { name: 'only an id is not empty, but breaks ele-1', base: patient, mutate: (r) => (r.maritalStatus = { id: 'm1' }), expected: [['error', 'invariant', 'Patient.maritalStatus']] },
];

/** Issue 20, item 4: reference targets (errors where they decide the Patient compartment, else warnings by default, errors when strict). */
const REFERENCES: Case[] = [
  { name: 'subject is a Practitioner', base: medrx, mutate: (r) => (r.subject = { reference: 'Practitioner/f001' }), expected: [['error', 'value', 'MedicationRequest.subject']] },
  { name: 'subject is a Group (allowed)', base: medrx, mutate: (r) => (r.subject = { reference: 'Group/g1' }), expected: [] },
  { name: 'absolute URL to a disallowed type', base: medrx, mutate: (r) => (r.subject = { reference: 'https://other.example.org/fhir/Device/d1' }), expected: [['error', 'value', 'MedicationRequest.subject']] },
  { name: 'versioned reference to a disallowed type', base: medrx, mutate: (r) => (r.subject = { reference: 'Device/d1/_history/2' }), expected: [['error', 'value', 'MedicationRequest.subject']] },
  { name: 'logical reference with a disallowed type', base: medrx, mutate: (r) => (r.subject = { type: 'Device', identifier: { value: 'd1' } }), expected: [['error', 'value', 'MedicationRequest.subject']] },
  { name: 'contained target of a disallowed type', base: medrx, mutate: (r) => (r.requester = { reference: '#med0310' }), expected: [['warning', 'value', 'MedicationRequest.requester']] },
  { name: 'urn:uuid cannot be told', base: medrx, mutate: (r) => (r.subject = { reference: 'urn:uuid:2a1f0c6e-0e1c-4a7c-9a76-6b9b7c5b9a11' }), expected: [] },
  { name: 'reference in a datatype (Annotation.author)', base: medrx, mutate: (r) => (r.note = [{ authorReference: { reference: 'Medication/m1' }, text: 'x' }]), expected: [['warning', 'value', 'MedicationRequest.note[0].author.ofType(Reference)']] },
  { name: 'Patient.link.other to a Device', base: patient, mutate: (r) => (r.link = [{ other: { reference: 'Device/d1' }, type: 'seealso' }]), expected: [['error', 'value', 'Patient.link[0].other']] },
  { name: 'Patient.generalPractitioner to an Organization (allowed)', base: patient, mutate: (r) => (r.generalPractitioner = [{ reference: 'Organization/1' }]), expected: [] },
];

const simplify = (issues: OperationOutcomeIssue[]): string[] => issues.filter((i) => i.code !== 'invariant' || i.severity !== 'warning').map((i) => `${i.severity} ${i.code} ${i.expression?.join()}`).sort();

let validator: Validator;
let strict: Validator;
beforeAll(async () => {
  validator = await buildValidator();
  strict = await createValidator({ definitions: r4(), resourceTypes: SERVED_TYPES, profilesDir: PROFILES_DIR, terminologyDir: TERMINOLOGY_DIR, strict: true });
});

async function run(v: Validator, c: Case): Promise<OperationOutcomeIssue[]> {
  const resource = example(...c.base);
  c.mutate(resource);
  return v.validate(resource as never);
}

describe.each([
  ['narrative', NARRATIVE],
  ['empty values', EMPTY],
  ['reference targets', REFERENCES],
])('%s', (_group, cases) => {
  it.each(cases.map((c) => [c.name, c]))('%s', async (_name, c) => {
    const issues = await run(validator, c);
    expect(simplify(issues)).toEqual(c.expected.map((e) => e.join(' ')).sort());
    for (const issue of issues) expect(issue.diagnostics).toMatch(/\w+ .*\w/);
  });
});

describe('narrative messages', () => {
  it('an accepted xml:lang leaves no misleading txt-2', async () => {
    const issues = await run(validator, NARRATIVE[0]);
    expect(issues.filter((i) => i.expression?.[0] === 'Patient.text.div')).toEqual([]);
  });

  it('names the namespace that is missing, and txt-2 says the div is empty', async () => {
    const [missing] = await run(validator, NARRATIVE[3]);
    expect(missing.diagnostics).toBe(`The narrative <div> must declare the XHTML namespace (xmlns="${XHTML}")`);
    const [empty] = await run(validator, NARRATIVE[7]);
    expect(empty.diagnostics).toBe('txt-2: The narrative SHALL have some non-whitespace content');
  });
});

describe('strict validation (FHIR_VALIDATION_STRICT)', () => {
  it.each(REFERENCES.filter((c) => c.expected.length).map((c) => [c.name, c]))('%s is an error', async (_name, c) => {
    expect(simplify(await run(strict, c))).toEqual(c.expected.map(([, code, where]) => `error ${code} ${where}`).sort());
  });

  it('an unknown meta.profile is a warning by default and an error when strict', async () => {
    const c: Case = { name: 'unknown profile', base: patient, mutate: (r) => (r.meta = { profile: ['http://example.org/fhir/StructureDefinition/unheard-of'] }), expected: [] };
    expect(simplify(await run(validator, c))).toEqual(['warning not-supported Patient.meta.profile[0]']);
    expect(simplify(await run(strict, c))).toEqual(['error not-supported Patient.meta.profile[0]']);
  });

  it('core definitions and profiles the server holds are not affected', async () => {
    const core: Case = { name: 'core', base: patient, mutate: (r) => (r.meta = { profile: ['http://hl7.org/fhir/StructureDefinition/Patient'] }), expected: [] };
    expect(await run(strict, core)).toEqual([]);
  });
});

describe('deep nesting', () => {
  const nested = (levels: number): Json => {
    let extension: Json = { url: 'http://example.org/x', valueString: 'deepest' };
    for (let i = 0; i < levels; i++) extension = { url: 'http://example.org/x', extension: [extension] };
    return { resourceType: 'Patient', extension: [extension] };
  };

  it.each([
    ['flat', { a: 1 }, 1, false],
    ['at the limit', { a: { b: 1 } }, 2, false],
    ['over the limit', { a: { b: { c: 1 } } }, 2, true],
    ['arrays count', [[[1]]], 2, true],
    ['primitives do not', 'x', 0, false],
  ])('nestedDeeperThan: %s', (_name, value, max, deeper) => {
    expect(nestedDeeperThan(value, max as number)).toBe(deeper);
  });

  it('a resource nested 5,000 levels deep is one structure error, not a crash', async () => {
    const issues = await validator.validate(nested(5000) as never);
    expect(issues).toEqual([expect.objectContaining({ severity: 'error', code: 'structure', expression: ['Patient'] })]);
    expect(issues[0].diagnostics).toContain(`more than ${MAX_JSON_DEPTH} levels`);
  });

  it('nesting within the limit is validated as usual', async () => {
    const issues = await validator.validate(nested(20) as never);
    expect(issues.some((i) => i.code === 'structure')).toBe(false);
  });
});
