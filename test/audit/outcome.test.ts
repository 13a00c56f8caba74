import { describe, expect, it } from 'vitest';
import { failureOf, outcomeOf } from '../../src/audit/vocabulary.js';
import { FhirError } from '../../src/fhir/errors.js';

// One rule for every door (FHIR interactions, admin API, HL7 v2 archive): the AuditEvent's outcome is
// 8 (serious failure) when the server failed -- an HTTP status of 500 or more -- and 4 when refused.
describe('AuditEvent outcome of a failed run', () => {
  const cases: Array<[string, unknown, { outcome: string; outcomeDesc: string }]> = [
    ['a refusal', new FhirError('forbidden', 'no'), { outcome: '4', outcomeDesc: 'forbidden' }],
    ['a missing resource', new FhirError('not-found', 'gone'), { outcome: '4', outcomeDesc: 'not-found' }],
    ['invalid input', new FhirError('invalid-resource', 'bad'), { outcome: '4', outcomeDesc: 'invalid-resource' }],
    ['a conflict', new FhirError('version-conflict', 'stale'), { outcome: '4', outcomeDesc: 'version-conflict' }],
    ['the store unavailable', new FhirError('store-unavailable', 'down'), { outcome: '8', outcomeDesc: 'store-unavailable' }],
    ['an internal error', new FhirError('internal', 'bug'), { outcome: '8', outcomeDesc: 'internal' }],
    ['something not a FhirError', new TypeError('x is undefined'), { outcome: '8', outcomeDesc: 'internal' }],
  ];
  it.each(cases)('%s', (_name, error, expected) => {
    expect(outcomeOf(failureOf(error))).toEqual(expected);
  });

  it('a run that ended well is outcome 0', () => {
    expect(outcomeOf(undefined)).toEqual({ outcome: '0' });
  });
});
