import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Validator } from '../../src/validation/validator.js';
import { buildValidator, officialExamples, SERVED_TYPES } from './support.js';

/**
 * Official R4 examples that are genuinely invalid, with the exact issue the validator must
 * report and the rule that makes it so. Empty: every official example of the served types
 * passes base validation (structure, cardinality, required bindings, invariants). An entry
 * here would need proof from the specification, never a weakened validator.
 */
const KNOWN_INVALID: Record<string, Array<Pick<OperationOutcomeIssue, 'code' | 'expression'>>> = {};

let validator: Validator;
beforeAll(async () => {
  validator = await buildValidator();
});

describe.each(SERVED_TYPES.map((t) => [t]))('official %s examples', (type) => {
  it.each(officialExamples(type))('%s has no errors', async (file, resource) => {
    const errors = (await validator.validate(resource)).filter((i) => i.severity === 'error' || i.severity === 'fatal');
    const expected = KNOWN_INVALID[file] ?? [];
    expect(errors.map((e) => ({ code: e.code, expression: e.expression }))).toEqual(expected);
  });
});
