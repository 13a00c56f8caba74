import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Resource } from '@medplum/fhirtypes';
import { loadR4Definitions, type R4Definitions } from '../../src/fhir/definitions.js';
import { createValidator } from '../../src/validation/create-validator.js';
import type { Validator } from '../../src/validation/validator.js';
import { EXAMPLES_DIR } from '../support/corpus-dir.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export { EXAMPLES_DIR };
export const PROFILES_DIR = path.join(ROOT, 'profiles');
export const TERMINOLOGY_DIR = path.join(ROOT, 'terminology');

export const SERVED_TYPES = ['Patient', 'Practitioner', 'MedicationRequest', 'MedicationDispense', 'Consent', 'AuditEvent', 'Appointment'] as const;

let definitions: R4Definitions | undefined;

/** The R4 definitions, loaded once per test file. */
export function r4(): R4Definitions {
  definitions ??= loadR4Definitions();
  return definitions;
}

/** A validator over the repository's profiles and terminology (or another profiles folder). */
export function buildValidator(profilesDir = PROFILES_DIR): Promise<Validator> {
  return createValidator({ definitions: r4(), resourceTypes: SERVED_TYPES, profilesDir, terminologyDir: TERMINOLOGY_DIR });
}

/** The official examples of a type, as `[file, resource]` pairs. */
export function officialExamples(type: string): Array<[string, Resource]> {
  const dir = path.join(EXAMPLES_DIR, type);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Resource]);
}

/**
 * Official examples that break a rule the validator reports as a warning, corrected so the
 * cases built on them show only the issues they are about.
 */
const CORRECTIONS: Record<string, (r: Record<string, any>) => void> = {
  // MedicationRequest.dispenseRequest.performer is Reference(Organization); the example points it at Practitioner/f001.
  'MedicationRequest-medrx0301': (r) => (r.dispenseRequest.performer = { reference: 'Organization/f001' }),
};

/** A fresh copy of one official example (corrected, see CORRECTIONS), e.g. `example('Patient', 'example')`. */
export function example<T = Record<string, any>>(type: string, id: string): T {
  const resource = JSON.parse(readFileSync(path.join(EXAMPLES_DIR, type, `${type}-${id}.json`), 'utf8')) as Record<string, any>;
  CORRECTIONS[`${type}-${id}`]?.(resource);
  return resource as T;
}

/** A fresh copy of a fixture of this folder. */
export function fixture<T = Record<string, any>>(name: string): T {
  return JSON.parse(readFileSync(path.join(ROOT, 'test/validation/fixtures', name), 'utf8')) as T;
}
