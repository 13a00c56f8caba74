import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { contextAllows, childSite, resourceSite, sitePaths, type Site } from '../../src/validation/extensions/extension-site.js';
import { ModelRegistry } from '../../src/validation/model-registry.js';
import type { Validator } from '../../src/validation/validator.js';
import { buildValidator, example, fixture, r4 } from './support.js';

type Json = Record<string, any>;
type Expected = [OperationOutcomeIssue['severity'], OperationOutcomeIssue['code'], string];

const H = 'http://hl7.org/fhir/StructureDefinition/';
const US = 'http://hl7.org/fhir/us/core/StructureDefinition/';
const maidenName = (extra: Json = { valueString: 'Smith' }): Json => ({ url: `${H}patient-mothersMaidenName`, ...extra });
const nationality = (...subs: Json[]): Json => ({ url: `${H}patient-nationality`, extension: subs });

/** Issue 20, item 1: every case is a Patient (official example) with the extension placed as shown. */
const CASES: Array<{ name: string; mutate: (r: Json) => void; expected: Expected[] }> = [
  // Known extensions used correctly: nothing to report.
  { name: 'simple extension on its context (Patient)', mutate: (r) => (r.extension = [maidenName()]), expected: [] },
  { name: 'on a primitive, context Patient.birthDate', mutate: (r) => (r._birthDate = { extension: [{ url: `${H}patient-birthTime`, valueDateTime: '1974-12-25T14:35:45-05:00' }] }), expected: [] },
  { name: 'context by datatype path (HumanName.family) on Patient.contact.name.family', mutate: (r) => (r.contact[0].name._family = { extension: [{ url: `${H}humanname-own-prefix`, valueString: 'van' }] }), expected: [] },
  { name: 'context by primitive type (string) on Patient.name.given', mutate: (r) => (r.name[0]._given = [{ extension: [{ url: `${H}rendered-value`, valueString: 'P' }] }]), expected: [] },
  { name: 'context by base type: code covers string', mutate: (r) => (r._gender = { extension: [{ url: `${H}rendered-value`, valueString: 'M' }] }), expected: [] },
  { name: 'context Element: anywhere', mutate: (r) => (r.name[0].extension = [{ url: `${H}data-absent-reason`, valueCode: 'unknown' }]), expected: [] },
  { name: 'complex extension with its sub-extensions', mutate: (r) => (r.extension = [nationality({ url: 'code', valueCodeableConcept: { text: 'NL' } }, { url: 'period', valuePeriod: { start: '2000' } })]), expected: [] },
  { name: 'versioned url naming the version held', mutate: (r) => (r.extension = [maidenName({ url: `${H}patient-mothersMaidenName|4.0.1`, valueString: 'Smith' })]), expected: [] },
  { name: 'extension of profiles/ (US Core race)', mutate: (r) => (r.extension = [{ url: `${US}us-core-race`, extension: [{ url: 'text', valueString: 'Mixed' }] }]), expected: [] },

  // value[x]
  { name: 'wrong value type', mutate: (r) => (r.extension = [maidenName({ valueInteger: 3 })]), expected: [['error', 'value', 'Patient.extension[0].value.ofType(integer)']] },
  { name: 'required value missing', mutate: (r) => (r.extension = [{ url: `${H}patient-mothersMaidenName`, extension: [{ url: 'x', valueString: 'y' }] }]), expected: [['error', 'required', 'Patient.extension[0].value'], ['error', 'invariant', 'Patient.extension[0].extension[0]']] },
  { name: 'value on a complex extension', mutate: (r) => (r.extension = [{ ...nationality({ url: 'code', valueCodeableConcept: { text: 'NL' } }), valueString: 'NL' }]), expected: [['error', 'invariant', 'Patient.extension[0]'], ['error', 'invariant', 'Patient.extension[0].value.ofType(string)']] },

  // context
  { name: 'resource extension on an element', mutate: (r) => (r.name[0].extension = [maidenName()]), expected: [['error', 'extension', 'Patient.name[0].extension[0]']] },
  { name: 'element extension on the resource', mutate: (r) => (r.extension = [{ url: `${H}patient-birthTime`, valueDateTime: '1974-12-25T14:35:45-05:00' }]), expected: [['error', 'extension', 'Patient.extension[0]']] },
  { name: 'extension of another resource type', mutate: (r) => (r.extension = [{ url: `${H}practitioner-animalSpecies`, valueCodeableConcept: { text: 'dog' } }]), expected: [['error', 'extension', 'Patient.extension[0]']] },

  // sub-extensions of complex extensions
  { name: 'undefined sub-extension', mutate: (r) => (r.extension = [nationality({ url: 'colour', valueString: 'orange' })]), expected: [['error', 'extension', 'Patient.extension[0].extension[0]']] },
  { name: 'sub-extension of the wrong type', mutate: (r) => (r.extension = [nationality({ url: 'code', valueString: 'NL' })]), expected: [['error', 'value', 'Patient.extension[0].extension[0].value.ofType(string)']] },
  { name: 'sub-extension repeated beyond its max', mutate: (r) => (r.extension = [nationality({ url: 'code', valueCodeableConcept: { text: 'NL' } }, { url: 'code', valueCodeableConcept: { text: 'BE' } })]), expected: [['error', 'invariant', 'Patient.extension[0].extension[1]']] },
  { name: 'required sub-extension missing (US Core race text)', mutate: (r) => (r.extension = [{ url: `${US}us-core-race`, extension: [{ url: 'detailed', valueCoding: { system: 'urn:oid:2.16.840.1.113883.6.238', code: '2108-9' } }] }]), expected: [['error', 'required', 'Patient.extension[0].extension']] },
  { name: 'absolute-url extension inside a complex one is checked on its own', mutate: (r) => (r.extension = [nationality({ url: 'code', valueCodeableConcept: { text: 'NL' } }, { url: 'http://example.org/nationality-note', valueString: 'x' })]), expected: [['warning', 'extension', 'Patient.extension[0].extension[1]']] },

  // versioned urls
  { name: 'versioned url naming another version', mutate: (r) => (r.extension = [maidenName({ url: `${H}patient-mothersMaidenName|5.0.0`, valueString: 'Smith' })]), expected: [['warning', 'extension', 'Patient.extension[0]']] },
  { name: 'versioned modifierExtension naming another version', mutate: (r) => (r.modifierExtension = [{ url: `${H}patient-mothersMaidenName|3.0.2`, valueString: 'Smith' }]), expected: [['error', 'extension', 'Patient.modifierExtension[0]']] },

  // unknown extensions and modifiers
  { name: 'unknown extension: warning only', mutate: (r) => (r.extension = [{ url: 'http://example.org/fhir/favourite-colour', valueString: 'blue' }]), expected: [['warning', 'extension', 'Patient.extension[0]']] },
  { name: 'unknown extension on a primitive: warning only', mutate: (r) => (r._active = { extension: [{ url: 'http://example.org/fhir/why', valueString: 'x' }] }), expected: [['warning', 'extension', 'Patient.active.extension[0]']] },
  { name: 'unknown modifierExtension: rejected', mutate: (r) => (r.modifierExtension = [{ url: 'http://example.org/fhir/do-not-treat', valueBoolean: true }]), expected: [['error', 'extension', 'Patient.modifierExtension[0]']] },
  { name: 'unknown modifierExtension on a backbone element: rejected', mutate: (r) => (r.contact[0].modifierExtension = [{ url: 'http://example.org/fhir/deceased-contact', valueBoolean: true }]), expected: [['error', 'extension', 'Patient.contact[0].modifierExtension[0]']] },
  { name: 'known non-modifier sent as modifierExtension', mutate: (r) => (r.modifierExtension = [maidenName()]), expected: [['error', 'extension', 'Patient.modifierExtension[0]']] },
  // request-doNotPerform is a modifier defined for NutritionOrder only.
  { name: 'known modifier sent as a plain extension, out of context', mutate: (r) => (r.extension = [{ url: `${H}request-doNotPerform`, valueBoolean: true }]), expected: [['error', 'extension', 'Patient.extension[0]'], ['error', 'extension', 'Patient.extension[0]']] },
  { name: 'known modifier as modifierExtension, out of context', mutate: (r) => (r.modifierExtension = [{ url: `${H}request-doNotPerform`, valueBoolean: true }]), expected: [['error', 'extension', 'Patient.modifierExtension[0]']] },
];

const simplify = (issues: OperationOutcomeIssue[]): string[] => issues.filter((i) => i.code !== 'invariant' || i.severity !== 'warning').map((i) => `${i.severity} ${i.code} ${i.expression?.join()}`).sort();

let validator: Validator;
beforeAll(async () => {
  validator = await buildValidator();
});

describe('extensions against their definitions', () => {
  it.each(CASES.map((c) => [c.name, c]))('%s', async (_name, c) => {
    const resource = example('Patient', 'example');
    c.mutate(resource);
    const issues = await validator.validate(resource as never);
    expect(simplify(issues)).toEqual(c.expected.map((e) => e.join(' ')).sort());
    for (const issue of issues) expect(issue.diagnostics).toMatch(/\w+ .*\w/);
  });

  it('names the definition, the place and the allowed contexts', async () => {
    const resource = example('Patient', 'example');
    resource.name[0].extension = [maidenName()];
    const [issue] = await validator.validate(resource as never);
    expect(issue.diagnostics).toBe(`Extension ${H}patient-mothersMaidenName is not allowed on Patient.name (allowed on: Patient)`);
  });

  it('an extension a claimed profile also names is reported once', async () => {
    const resource = fixture('us-core-patient.json');
    const race = resource.extension.find((e: Json) => e.url === `${US}us-core-race`);
    race.extension.find((e: Json) => e.url === 'text').valueInteger = 5;
    delete race.extension.find((e: Json) => e.url === 'text').valueString;
    const issues = (await validator.validate(resource as never)).filter((i) => i.severity === 'error');
    expect(issues.map((i) => `${i.code} ${i.expression?.join()}`)).toEqual([`value ${issues[0]?.expression?.[0]}`]);
    expect(issues[0].expression?.[0]).toMatch(/^Patient\.extension\[\d\]\.extension\[\d\]\.value\.ofType\(integer\)$/);
  });

  it('a modifier extension the server holds is accepted as a modifierExtension, and only so', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fhirgate-profiles-'));
    try {
      await writeFile(path.join(dir, 'no-resuscitation.json'), JSON.stringify(LOCAL_MODIFIER));
      const local = await buildValidator(dir);
      const resource = example('Patient', 'example');
      resource.modifierExtension = [{ url: LOCAL_MODIFIER.url, valueBoolean: true }];
      expect(await local.validate(resource as never)).toEqual([]);
      delete resource.modifierExtension;
      resource.extension = [{ url: LOCAL_MODIFIER.url, valueBoolean: true }];
      expect((await local.validate(resource as never)).map((i) => i.diagnostics)).toEqual([`Extension ${LOCAL_MODIFIER.url} is a modifier extension, so it must be sent as a modifierExtension`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A modifier extension of Patient, as a site would define one in profiles/ (differential only). */
const LOCAL_MODIFIER = {
  resourceType: 'StructureDefinition',
  url: 'http://example.org/fhir/StructureDefinition/no-resuscitation',
  name: 'NoResuscitation',
  status: 'active',
  kind: 'complex-type',
  abstract: false,
  context: [{ type: 'element', expression: 'Patient' }],
  type: 'Extension',
  baseDefinition: `${H}Extension`,
  derivation: 'constraint',
  differential: {
    element: [
      { id: 'Extension', path: 'Extension', isModifier: true, isModifierReason: 'Changes how the patient may be treated' },
      { id: 'Extension.extension', path: 'Extension.extension', max: '0' },
      { id: 'Extension.url', path: 'Extension.url', fixedUri: 'http://example.org/fhir/StructureDefinition/no-resuscitation' },
      { id: 'Extension.value[x]', path: 'Extension.value[x]', min: 1, type: [{ code: 'boolean' }] },
    ],
  },
};

describe('extension contexts (table over sites)', () => {
  const registry = new ModelRegistry(r4().structureDefinitions);
  const base = (t: string) => registry.baseTypes(t);
  const patient = resourceSite('Patient');
  const contact = childSite(patient, 'contact', 'BackboneElement', true);
  const contactName = childSite(contact, 'name', 'HumanName', false);
  const family = childSite(contactName, 'family', 'string', false);
  const gender = childSite(patient, 'gender', 'code', false);
  const age = childSite(childSite(resourceSite('Observation'), 'value', 'Age', false), 'value', 'decimal', false);
  const inExtension = childSite(childSite(patient, 'extension', 'Extension', false, { url: 'http://example.org/parent' }), 'value', 'string', false);
  const element = (expression: string) => ({ type: 'element' as const, expression });

  it('lists the paths of a site, from the resource and from each datatype', () => {
    expect(sitePaths(family)).toEqual(['Patient.contact.name.family', 'BackboneElement.name.family', 'HumanName.family', 'string']);
  });

  const TABLE: Array<[string, Site, string, boolean]> = [
    ['resource type on the resource', patient, 'Patient', true],
    ['resource type on an element', contact, 'Patient', false],
    ['Resource covers every resource', patient, 'Resource', true],
    ['DomainResource covers Patient', patient, 'DomainResource', true],
    ['Element covers anything', family, 'Element', true],
    ['full path', family, 'Patient.contact.name.family', true],
    ['datatype path', family, 'HumanName.family', true],
    ['datatype path of another element', family, 'HumanName.given', false],
    ['primitive type', family, 'string', true],
    ['base of a primitive type (code is a string)', gender, 'string', true],
    ['exact primitive type', gender, 'code', true],
    ['unrelated primitive type', gender, 'uri', false],
    ['BackboneElement', contact, 'BackboneElement', true],
    ['backbone element path', contact, 'Patient.contact', true],
    ['choice element written with [x]', childSite(resourceSite('Observation'), 'value', 'Quantity', false), 'Observation.value[x]', true],
    ['base of a datatype (Age is a Quantity)', age, 'Quantity.value', true],
    ['path on another resource', patient, 'Practitioner', false],
  ];
  it.each(TABLE)('%s', (_name, site, expression, allowed) => {
    expect(contextAllows([element(expression)], site, base)).toBe(allowed);
  });

  it('extension contexts name the url of the enclosing extension', () => {
    expect(contextAllows([{ type: 'extension', expression: 'http://example.org/parent' }], inExtension, base)).toBe(false);
    const inParent = childSite(patient, 'extension', 'Extension', false, { url: 'http://example.org/parent' });
    expect(contextAllows([{ type: 'extension', expression: 'http://example.org/parent' }], inParent, base)).toBe(true);
    expect(contextAllows([{ type: 'extension', expression: 'http://example.org/other' }], inParent, base)).toBe(false);
  });

  it('no context, or a FHIRPath one (not evaluated), allows the use', () => {
    expect(contextAllows([], family, base)).toBe(true);
    expect(contextAllows([{ type: 'fhirpath', expression: 'Patient.name' }], family, base)).toBe(true);
  });
});
