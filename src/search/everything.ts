import type { Bundle } from '@medplum/fhirtypes';
import type { Filter, StoredRecord } from '../store/port.js';
import { assertNoIssues, ignoredOutcome, searchsetBundle } from './bundle.js';
import { compartmentFilter, type Compartment } from './compartment.js';
import { MAX_INCLUDES, present, type SearchDeps, type SearchOptions } from './execute.js';
import { decodeCursor, readPage, type SortKey } from './keyset.js';
import { parseSearch, type ParamIssue } from './parse.js';

// Grouped by type, then id: a total order, so keyset paging holds under concurrent writes.
const KEYS: SortKey[] = [
  { field: 'resourceType', direction: 1 },
  { field: 'id', direction: 1 },
];

/**
 * Compartment members that are not the patient's record: the audit trail is about who looked at it,
 * and names other people and patients (issue 15); `Patient/[id]/AuditEvent` and `AuditEvent?patient=` serve it.
 */
const NOT_THE_RECORD = new Set(['AuditEvent']);

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

interface EverythingParams {
  since?: string;
  types?: string[];
  applied: Array<[string, string]>;
  issues: ParamIssue[];
}

/** `_since` and `_type` of $everything; every other criterion is reported as not supported. */
function everythingParams(criteria: ReturnType<typeof parseSearch>['criteria'], served: readonly string[]): EverythingParams {
  const out: EverythingParams = { applied: [], issues: [] };
  for (const c of criteria) {
    if (c.name === '_since' && out.since === undefined && INSTANT.test(c.raw) && !Number.isNaN(Date.parse(c.raw))) {
      out.since = new Date(Date.parse(c.raw)).toISOString();
      out.applied.push([c.name, c.raw]);
    } else if (c.name === '_since') {
      out.issues.push({ param: c.name, message: `_since must appear once, as an instant with time zone, not '${c.raw.slice(0, 40)}'` });
    } else if (c.name === '_type' && out.types === undefined && c.values.every((t) => served.includes(t))) {
      out.types = c.values;
      out.applied.push([c.name, c.raw]);
    } else if (c.name === '_type') {
      out.issues.push({ param: c.name, message: `_type must appear once and list served resource types, not '${c.raw.slice(0, 80)}'` });
    } else {
      out.issues.push({ param: c.name, message: 'Not a parameter of Patient $everything (supported: _since, _type, _count)' });
    }
  }
  return out;
}

/** Served resources the page's records reference that are outside the compartment (e.g. Practitioners). */
async function supporting(deps: SearchDeps, records: readonly StoredRecord[], compartment: Compartment, types: readonly string[]): Promise<StoredRecord[]> {
  const wanted = new Map<string, Set<string>>();
  for (const record of records) {
    for (const def of deps.searchIndex.params(record.resourceType).values()) {
      if (def.type !== 'reference') continue;
      for (const ref of deps.searchIndex.referencesOf(record, def.code)) {
        const [type, id] = ref.split('/');
        if (compartment.members.has(type) || !types.includes(type)) continue;
        if (!wanted.has(type)) wanted.set(type, new Set());
        wanted.get(type)!.add(id);
      }
    }
  }
  const found: StoredRecord[] = [];
  for (const [type, ids] of wanted) {
    found.push(...(await deps.store.find('current', { resourceType: type, id: { $in: [...ids] }, deleted: false }, { sort: { id: 1 }, limit: MAX_INCLUDES })));
  }
  return found.slice(0, MAX_INCLUDES);
}

/**
 * Patient `$everything` (operation-patient-everything.html): the patient and every resource in its
 * compartment as a paged searchset, plus the served resources they reference outside it (as includes).
 */
export async function runEverything(deps: SearchDeps, options: SearchOptions, compartment: Compartment, id: string, restrict: (type: string) => Promise<Filter | undefined>): Promise<Bundle> {
  const parsed = parseSearch(options.params);
  const params = everythingParams(parsed.criteria, deps.registry.types);
  const resultIssues = parsed.issues.concat(
    parsed.sort.length ? [{ param: '_sort', message: '$everything returns resources grouped by type' }] : [],
    parsed.include.length || parsed.revinclude.length ? [{ param: '_include', message: 'Not a parameter of Patient $everything' }] : [],
    parsed.elements ? [{ param: '_elements', message: 'Not a parameter of Patient $everything' }] : [],
  );
  const issues = [...resultIssues, ...params.issues];
  assertNoIssues(issues, options.strict);

  const types = params.types ?? deps.registry.types;
  const members = [...compartment.members.keys()].filter((t) => types.includes(t) && !NOT_THE_RECORD.has(t));
  // Each type within what the requester may see (authorization, Consents), so the total and the pages count only that.
  const branches = await Promise.all(
    members.map(async (t): Promise<Filter> => {
      const restriction = await restrict(t);
      return { resourceType: t, $and: [compartmentFilter(compartment, deps.searchIndex, [id], t)!, ...(restriction ? [restriction] : [])] };
    }),
  );
  const filter: Filter = {
    $and: [{ deleted: false }, ...(params.since ? [{ lastUpdated: { $gte: params.since } }] : []), branches.length > 0 ? { $or: branches } : { id: { $in: [] } }],
  };
  const count = Math.min(parsed.count ?? deps.paging.defaultPageSize, deps.paging.maxPageSize);
  const cursor = parsed.cursor === undefined ? undefined : decodeCursor(parsed.cursor, KEYS.length);
  const page = await readPage(deps.store, 'current', filter, KEYS, count, cursor);
  const total = parsed.total === 'none' ? undefined : await deps.store.count('current', filter);
  return searchsetBundle({
    baseUrl: options.baseUrl,
    path: `Patient/${id}/$everything`,
    applied: [...params.applied, ['_count', String(count)], ...(parsed.total ? [['_total', parsed.total] as [string, string]] : [])],
    page,
    ...(parsed.cursor !== undefined ? { cursor: parsed.cursor } : {}),
    ...(total !== undefined ? { total } : {}),
    matches: await present(deps, page.records, parsed),
    included: await present(deps, await supporting(deps, page.records, compartment, types), parsed),
    outcome: ignoredOutcome(issues),
    now: deps.clock(),
  });
}
