import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { makeIssue } from './issues.js';
import type { ElementItem } from './json-items.js';

export interface CardinalityRule {
  /** Definition path or slice name shown in messages, e.g. `Patient.communication.language`. */
  readonly label: string;
  readonly min: number;
  readonly max: number;
  /** The JSON name, used to locate a missing element under its parent. */
  readonly name: string;
}

/**
 * Checks how often an element occurs in one parent instance against `min..max`
 * (the JSON schema cannot: R4's schema has no `required`). A missing element is located
 * where it should be (`Patient.communication[0].language`).
 *
 * `skipMax` lets the caller leave "array where a single value is expected" to the schema
 * layer, which reports it more precisely. Too many occurrences break the base specification's
 * structure (`structure`, a 400 at the HTTP edge); a profile's tighter limit is a
 * content rule (`invariant`, a 422), like every profile violation.
 */
export function checkCardinality(
  rule: CardinalityRule,
  items: readonly ElementItem[],
  parentLocation: string,
  options: { skipMax?: boolean; profile?: string } = {},
): OperationOutcomeIssue[] {
  const from = options.profile ? ` by profile ${options.profile}` : '';
  const count = items.length;
  if (count < rule.min) {
    const text =
      count === 0
        ? `Missing required element ${rule.label}: it is required${from} (minimum cardinality ${rule.min})`
        : `Element ${rule.label} occurs ${count} time(s), but at least ${rule.min} are required${from}`;
    return [makeIssue('error', 'required', text, count === 0 ? `${parentLocation}.${rule.name}` : items[0].location)];
  }
  if (count > rule.max && !options.skipMax) {
    const text =
      rule.max === 0
        ? `Element ${rule.label} is not allowed${from}`
        : `Element ${rule.label} occurs ${count} times, but at most ${rule.max} ${rule.max === 1 ? 'is' : 'are'} allowed${from}`;
    return [makeIssue('error', options.profile ? 'invariant' : 'structure', text, rule.max === 0 ? items[0].location : items[rule.max].location)];
  }
  return [];
}
