import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

export type IssueCode = OperationOutcomeIssue['code'];

/** Builds one validation issue located by a FHIRPath expression. */
export function makeIssue(severity: 'error' | 'warning', code: IssueCode, diagnostics: string, location: string): OperationOutcomeIssue {
  return { severity, code, diagnostics, expression: [location] };
}

/**
 * Drops exact duplicates (same severity, code, location and text): the same rule can be
 * reached twice, e.g. a datatype invariant restated by a profile.
 */
export function dedupeIssues(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const id = `${i.severity}|${i.code}|${i.expression?.[0]}|${i.diagnostics}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Quotes a JSON value for a message, shortened so a huge value cannot flood the outcome. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `'${text.length > 80 ? `${text.slice(0, 77)}...` : text}'`;
}
