import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { OperationOutcomeIssue, StructureDefinition } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Validator } from '../../src/validation/validator.js';
import { buildValidator, fixture, PROFILES_DIR } from './support.js';

/**
 * Profile features the shipped profiles use little or not at all, exercised with
 * differential-only test profiles written to a temporary profiles folder: a profile derived
 * from another local profile, choice-type restriction, fixed values, closed slicing on a value
 * discriminator, and an extension slice whose definition is local too.
 */
const STRICT = 'https://fhirgate.dev/test/StructureDefinition/strict-patient';
const NICKNAME = 'https://fhirgate.dev/test/StructureDefinition/nickname';

const nickname: StructureDefinition = {
  resourceType: 'StructureDefinition',
  url: NICKNAME,
  name: 'Nickname',
  status: 'draft',
  kind: 'complex-type',
  abstract: false,
  type: 'Extension',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Extension',
  derivation: 'constraint',
  differential: {
    element: [
      { id: 'Extension.url', path: 'Extension.url', fixedUri: NICKNAME },
      { id: 'Extension.value[x]', path: 'Extension.value[x]', min: 1, type: [{ code: 'string' }] },
    ],
  },
};

const strictPatient: StructureDefinition = {
  resourceType: 'StructureDefinition',
  url: STRICT,
  name: 'StrictPatient',
  status: 'draft',
  kind: 'resource',
  abstract: false,
  type: 'Patient',
  baseDefinition: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient',
  derivation: 'constraint',
  differential: {
    element: [
      { id: 'Patient.extension:nickname', path: 'Patient.extension', sliceName: 'nickname', min: 1, max: '1', type: [{ code: 'Extension', profile: [NICKNAME] }] },
      {
        id: 'Patient.identifier',
        path: 'Patient.identifier',
        slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'closed' },
      },
      { id: 'Patient.identifier:mrn', path: 'Patient.identifier', sliceName: 'mrn', min: 1, max: '1' },
      { id: 'Patient.identifier:mrn.system', path: 'Patient.identifier.system', fixedUri: 'http://hospital.example.org' },
      { id: 'Patient.active', path: 'Patient.active', min: 1, fixedBoolean: true },
      { id: 'Patient.deceased[x]', path: 'Patient.deceased[x]', type: [{ code: 'boolean' }] },
    ],
  },
};

function strict(): Record<string, any> {
  const r = fixture('us-core-patient.json');
  r.meta.profile = [STRICT];
  r.extension.push({ url: NICKNAME, valueString: 'Ames' });
  return r;
}

const errorsOf = (issues: OperationOutcomeIssue[]): string[] => issues.filter((i) => i.severity === 'error').map((i) => `${i.code} ${i.expression?.join()}`).sort();

let dir: string;
let validator: Validator;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fhirgate-profiles-'));
  await copyFile(path.join(PROFILES_DIR, 'us-core-patient.json'), path.join(dir, 'us-core-patient.json'));
  for (const ext of ['race', 'ethnicity', 'birthsex']) await copyFile(path.join(PROFILES_DIR, `us-core-${ext}.json`), path.join(dir, `us-core-${ext}.json`));
  await writeFile(path.join(dir, 'nickname.json'), JSON.stringify(nickname));
  await writeFile(path.join(dir, 'strict-patient.json'), JSON.stringify(strictPatient));
  validator = await buildValidator(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('differential profiles', () => {
  it('accept a conforming resource', async () => {
    expect(await validator.validate(strict() as never)).toEqual([]);
  });

  it('inherit the rules of the local profile they derive from', async () => {
    const r = strict();
    delete r.gender;
    expect(errorsOf(await validator.validate(r as never))).toEqual(['required Patient.gender']);
  });

  it('restrict choice types', async () => {
    const r = strict();
    r.deceasedDateTime = '2020-01-01';
    expect(errorsOf(await validator.validate(r as never))).toEqual(['value Patient.deceased.ofType(dateTime)']);
  });

  it('enforce fixed values', async () => {
    const r = strict();
    r.active = false;
    expect(errorsOf(await validator.validate(r as never))).toEqual(['value Patient.active']);
  });

  it('close a slicing: an identifier matching no slice is an error', async () => {
    const r = strict();
    r.identifier.push({ system: 'http://other.example.org', value: '1' });
    expect(errorsOf(await validator.validate(r as never))).toEqual(['invariant Patient.identifier[1]']);
  });

  it('count slices by their discriminator', async () => {
    const r = strict();
    r.identifier[0].system = 'http://other.example.org';
    expect(errorsOf(await validator.validate(r as never))).toEqual(['invariant Patient.identifier[0]', 'required Patient.identifier']);
  });

  it('require an extension slice and apply its local definition', async () => {
    const missing = strict();
    missing.extension.pop();
    expect(errorsOf(await validator.validate(missing as never))).toEqual(['required Patient.extension']);
    const wrongType = strict();
    wrongType.extension[3] = { url: NICKNAME, valueInteger: 3 };
    expect(errorsOf(await validator.validate(wrongType as never))).toEqual(['value Patient.extension[3].value.ofType(integer)']);
  });
});

describe('profile loading', () => {
  it('fails at construction when a profile derives from an unavailable one', async () => {
    const broken = await mkdtemp(path.join(tmpdir(), 'fhirgate-profiles-'));
    try {
      await writeFile(path.join(broken, 'strict-patient.json'), JSON.stringify(strictPatient));
      await expect(buildValidator(broken)).rejects.toThrow(/derives from http:\/\/hl7.org\/fhir\/us\/core\/StructureDefinition\/us-core-patient/);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('treats a missing profiles folder as no profiles', async () => {
    const none = await buildValidator(path.join(tmpdir(), 'fhirgate-no-such-folder'));
    expect(none.supportedProfiles().size).toBe(0);
  });
});
