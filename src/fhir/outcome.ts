import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/** An informational outcome, e.g. for `Prefer: return=OperationOutcome` on success. */
export function informational(diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics }] };
}

/** Wraps validation issues in an OperationOutcome; an empty list reads as "all OK" per $validate. */
export function outcomeOf(issues: OperationOutcomeIssue[]): OperationOutcome {
  if (issues.length === 0) return informational('Validation successful: no issues found.');
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** True when any issue is an error or fatal. */
export function hasErrors(issues: OperationOutcomeIssue[]): boolean {
  return issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
}
