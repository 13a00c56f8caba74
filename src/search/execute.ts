import { responseBudget } from '../fhir/limits.js';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { StorageCodec } from '../fhir/codec.js';
import { rememberJson } from '../fhir/json-text.js';
import type { Registry } from '../fhir/registry.js';
import { storedResourceJson, type Filter, type StoredRecord, type StorePort } from '../store/port.js';
import { assertNoIssues, ignoredOutcome, searchsetBundle } from './bundle.js';
import { compileCriteria, type CriteriaContext } from './criteria.js';
import { checkIncludes, resolveIncludes, type IncludeContext } from './include.js';
import { decodeCursor, readPage, type Page } from './keyset.js';
import { parseSearch, type IncludeSpec, type ParsedSearch, type TotalMode } from './parse.js';
import { resolveSort, sortParam } from './sort.js';
import { elementRules, subsetResource, type ElementRules } from './summary.js';
import type { SearchIndex } from './types.js';

/** What a search needs from the composition root (a subset of the pipeline's dependencies). */
export interface SearchDeps {
  store: StorePort;
  searchIndex: SearchIndex;
  registry: Registry;
  codec: StorageCodec;
  clock: () => Date;
  /** Page sizes, and the most JSON one response may carry (FHIR_MAX_RESPONSE_BYTES; default MAX_RESPONSE_CHARS). */
  paging: { defaultPageSize: number; maxPageSize: number; maxResponseChars?: number };
}

export interface SearchOptions {
  params: Record<string, string[]>;
  strict: boolean;
  baseUrl: string;
}

/** The resources of one type a search runs over, and where its links point. */
export interface SearchScope {
  type: string;
  /** A restriction beyond the criteria: a compartment, what authorization grants (`access-filter.ts`). */
  filter?: Filter;
  /** The search's path below the base, e.g. `MedicationRequest` or `Patient/1/MedicationRequest`. */
  path: string;
  /** The restriction of any other type, for chain and `_has` sub-queries. */
  restrict?: CriteriaContext['restrict'];
}

/**
 * Chain and `_has` sub-queries may match this many resources; more is refused with a 400 rather
 * than sent to the store as a huge `$in`.
 */
export const MAX_SUBQUERY_MATCHES = 1000;
/** Most resources `_include` / `_revinclude` add to one page. */
export const MAX_INCLUDES = 1000;
/** `_total` when the client does not say: an exact count, which the store answers with one count query. */
export const DEFAULT_TOTAL: TotalMode = 'accurate';

const rulesCache = new WeakMap<Registry, Map<string, ElementRules>>();

/** `_summary` / `_elements` rules of a type, derived once per registry. */
export function rulesOf(registry: Registry, type: string): ElementRules {
  let byType = rulesCache.get(registry);
  if (!byType) rulesCache.set(registry, (byType = new Map()));
  let rules = byType.get(type);
  if (!rules) byType.set(type, (rules = elementRules(registry.get(type).structureDefinition)));
  return rules;
}

export function criteriaContext(deps: SearchDeps, restrict?: CriteriaContext['restrict']): CriteriaContext {
  return { store: deps.store, index: deps.searchIndex, isServed: (t) => deps.registry.has(t), maxSubqueryMatches: MAX_SUBQUERY_MATCHES, ...(restrict ? { restrict } : {}) };
}

export function includeContext(deps: SearchDeps): IncludeContext {
  return { store: deps.store, index: deps.searchIndex, types: deps.registry.types, maxIncludes: MAX_INCLUDES };
}

/** The parameters a search applied, in a stable order, for the `self` and paging links. */
function appliedParams(parsed: ParsedSearch, criteria: ParsedSearch['criteria'], sort: string | undefined, count: number, include: IncludeSpec[], revinclude: IncludeSpec[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = criteria.map((c) => [c.name, c.raw]);
  if (sort) pairs.push(['_sort', sort]);
  pairs.push(['_count', String(count)]);
  if (parsed.total) pairs.push(['_total', parsed.total]);
  if (parsed.summary) pairs.push(['_summary', parsed.summary]);
  if (parsed.elements) pairs.push(['_elements', parsed.elements.join(',')]);
  for (const spec of include) pairs.push([spec.iterate ? '_include:iterate' : '_include', spec.raw]);
  for (const spec of revinclude) pairs.push([spec.iterate ? '_revinclude:iterate' : '_revinclude', spec.raw]);
  return pairs;
}

/**
 * Decodes records and shapes them for `_summary` / `_elements` (the latter only for the searched
 * type's matches). Each one's JSON is written here, once: counted against the response budget and
 * kept for the response (json-text.ts); a resource shown as stored is sent as its stored text.
 */
export async function present(deps: SearchDeps, records: readonly StoredRecord[], parsed: ParsedSearch, elementsFor?: string): Promise<Resource[]> {
  // One at a time, counted: a page of huge resources stops at the response budget instead of filling the heap.
  const charge = responseBudget('search page', deps.paging.maxResponseChars);
  const out: Resource[] = [];
  for (const record of records) {
    const resource = await deps.codec.decode(record.resource!);
    const elements = record.resourceType === elementsFor ? parsed.elements : undefined;
    const shown = subsetResource(resource, rulesOf(deps.registry, record.resourceType), parsed.summary, elements);
    const json = (shown === record.resource ? storedResourceJson(record) : undefined) ?? JSON.stringify(shown);
    charge(shown, json);
    rememberJson(shown, json);
    out.push(shown);
  }
  return out;
}

/**
 * Runs a search over one type (search.html): criteria, `_sort`, keyset paging by `_count`, `_total`,
 * `_include` / `_revinclude`, `_summary` / `_elements`. Parameters it cannot apply are left out and
 * reported in an outcome entry, or fail the search with a 400 under `Prefer: handling=strict`.
 */
export async function runSearch(deps: SearchDeps, options: SearchOptions, scope: SearchScope): Promise<Bundle> {
  const { type } = scope;
  const parsed = parseSearch(options.params);
  const criteria = await compileCriteria(criteriaContext(deps, scope.restrict), type, parsed.criteria, scope.filter);
  const sort = resolveSort(deps.searchIndex, type, parsed.sort);
  const includes = checkIncludes(includeContext(deps), parsed.include, '_include');
  const revincludes = checkIncludes(includeContext(deps), parsed.revinclude, '_revinclude');
  const issues = [...parsed.issues, ...criteria.issues, ...sort.issues, ...includes.issues, ...revincludes.issues];
  assertNoIssues(issues, options.strict);

  const filter: Filter = { $and: [{ resourceType: type, deleted: false }, ...(scope.filter ? [scope.filter] : []), criteria.filter] };
  const count = Math.min(parsed.count ?? deps.paging.defaultPageSize, deps.paging.maxPageSize);
  const countOnly = parsed.summary === 'count';
  const totalMode = countOnly ? 'accurate' : (parsed.total ?? DEFAULT_TOTAL);
  const cursor = parsed.cursor === undefined ? undefined : decodeCursor(parsed.cursor, sort.keys.length);
  // A first page is counted with it (issue 13: the store counts in the page's pass where it reads
  // every match anyway, and a page holding every match is its own count); a later page's total is
  // counted by the store, which reads the index only. `estimate` is answered exactly too: the store
  // has no cheaper estimate to offer.
  const page: Page = countOnly ? { records: [] } : await readPage(deps.store, 'current', filter, sort.keys, count, cursor, totalMode !== 'none');
  const total = totalMode === 'none' ? undefined : (page.total ?? (await deps.store.count('current', filter)));
  const included = page.records.length === 0 ? { records: [], truncated: false } : await resolveIncludes(includeContext(deps), page.records, includes.applied, revincludes.applied);

  const notes = included.truncated ? [`Only the first ${MAX_INCLUDES} included resources are returned on this page`] : [];
  const applied = appliedParams(parsed, criteria.applied, sortParam(sort.applied), count, includes.applied, revincludes.applied);
  return searchsetBundle({
    baseUrl: options.baseUrl,
    path: scope.path,
    applied,
    page,
    ...(parsed.cursor !== undefined ? { cursor: parsed.cursor } : {}),
    ...(total !== undefined ? { total } : {}),
    matches: await present(deps, page.records, parsed, type),
    included: await present(deps, included.records, parsed),
    outcome: ignoredOutcome(issues, notes),
    now: deps.clock(),
  });
}
