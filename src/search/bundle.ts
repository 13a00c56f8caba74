import type { Bundle, BundleEntry, OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { pageLinks } from '../fhir/bundles/links.js';
import { errorIssue } from '../fhir/errors.js';
import { FhirError } from '../fhir/errors.js';
import { newId } from '../fhir/ids.js';
import type { Page } from './keyset.js';
import type { ParamIssue } from './parse.js';

export interface SearchsetParts {
  baseUrl: string;
  /** Path of the search below the base, e.g. `Patient` or `Patient/1/MedicationRequest`. */
  path: string;
  /** The parameters actually applied, in order, for the links (search.html#selflink). */
  applied: ReadonlyArray<readonly [string, string]>;
  page: Page;
  cursor?: string;
  total?: number;
  matches: Resource[];
  included: Resource[];
  outcome?: OperationOutcome;
  now: Date;
}

function entry(baseUrl: string, resource: Resource, mode: 'match' | 'include'): BundleEntry {
  return { fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}`, resource, search: { mode } };
}

/** A searchset Bundle (bundle.html#searchset): matches, then includes, then the outcome of ignored parameters. */
export function searchsetBundle(parts: SearchsetParts): Bundle {
  const entries: BundleEntry[] = [
    ...parts.matches.map((r) => entry(parts.baseUrl, r, 'match')),
    ...parts.included.map((r) => entry(parts.baseUrl, r, 'include')),
  ];
  if (parts.outcome) entries.push({ fullUrl: `urn:uuid:${newId()}`, resource: parts.outcome, search: { mode: 'outcome' } });
  return {
    resourceType: 'Bundle',
    id: newId(),
    meta: { lastUpdated: parts.now.toISOString() },
    type: 'searchset',
    ...(parts.total !== undefined ? { total: parts.total } : {}),
    link: pageLinks(parts.baseUrl, parts.path, parts.applied, parts.page, parts.cursor),
    entry: entries,
  };
}

/** The outcome entry of a lenient search: one warning per parameter left out (search.html#errors). */
export function ignoredOutcome(issues: readonly ParamIssue[], notes: readonly string[] = []): OperationOutcome | undefined {
  if (issues.length === 0 && notes.length === 0) return undefined;
  const issue: OperationOutcomeIssue[] = [
    ...issues.map((i): OperationOutcomeIssue => ({ severity: 'warning', code: 'not-supported', diagnostics: `Parameter '${i.param}' ignored: ${i.message}` })),
    ...notes.map((n): OperationOutcomeIssue => ({ severity: 'information', code: 'informational', diagnostics: n })),
  ];
  return { resourceType: 'OperationOutcome', issue };
}

/** `Prefer: handling=strict`: any parameter that cannot be applied fails the search with a 400 naming each. */
export function assertNoIssues(issues: readonly ParamIssue[], strict: boolean): void {
  if (!strict || issues.length === 0) return;
  const details = issues.map((i) => errorIssue('bad-request', `Parameter '${i.param}': ${i.message}`));
  throw new FhirError('bad-request', `The search has ${issues.length} parameter(s) the server cannot apply (Prefer: handling=strict)`, { issues: details });
}
