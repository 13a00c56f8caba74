import { accessFilter, accessOf } from '../search/access-filter.js';
import { assertNoIssues } from '../search/bundle.js';
import { compileCriteria } from '../search/criteria.js';
import { criteriaContext } from '../search/execute.js';
import { parseSearch } from '../search/parse.js';
import type { StoredRecord } from '../store/port.js';
import { FhirError } from './errors.js';
import { paramsOf } from './params.js';
import { emptyConsentNote } from '../consent/types.js';
import type { AccessScope, Exchange } from './exchange.js';
import type { InteractionDeps } from './pipeline.js';
import type { FhirRequest, FhirResult } from './request.js';

/**
 * Conditional interactions (http.html#ccreate, #cond-update, #cdelete, #patch) find their target by
 * a search. The search is FhirGate's own (`src/search/`), run strictly: a criterion the server cannot
 * apply is a 400, never silently dropped, since dropping one could match (and change) the wrong resource.
 */

/** Query text (`identifier=sys|1&active=true`, with or without a leading `?`) as search parameters. */
export function parseCriteria(query: string): Record<string, string[]> {
  return paramsOf(new URLSearchParams(query.replace(/^\?/, '')));
}

/** One string per criteria, whatever the order of the parameters: what conditional creates serialize on. */
export function conditionalKey(type: string, params: Record<string, string[]>): string {
  const pairs = Object.entries(params).flatMap(([name, values]) => values.map((v) => `${encodeURIComponent(name)}=${encodeURIComponent(v)}`));
  return `${type}?${pairs.sort().join('&')}`;
}

/**
 * The current resources of `type` matching the criteria, within what the caller may see (the
 * confinement authorization decided, the Consents), at most `limit`.
 */
export async function findMatches(deps: InteractionDeps, scope: AccessScope, type: string, params: Record<string, string[]>, limit: number): Promise<StoredRecord[]> {
  const parsed = parseSearch(params);
  if (parsed.criteria.length === 0) {
    throw new FhirError('bad-request', `A conditional ${type} interaction needs search criteria; none were given`);
  }
  const resultParams = parsed.issues.length === 0 && (parsed.count !== undefined || parsed.sort.length > 0 || parsed.include.length > 0 || parsed.revinclude.length > 0 || parsed.summary || parsed.elements || parsed.total);
  if (resultParams) throw new FhirError('bad-request', 'Conditional criteria may hold search criteria only, no result parameters such as _count or _sort');
  const criteria = await compileCriteria(criteriaContext(deps, accessOf(deps, scope)), type, parsed.criteria);
  assertNoIssues([...parsed.issues, ...criteria.issues], true);
  const granted = await accessFilter(deps, scope, type);
  // resourceType at the top level: the embedded store then scans only that type (an index prefix for MongoDB).
  const filter = { resourceType: type, deleted: false, $and: [...(granted ? [granted] : []), criteria.filter] };
  return deps.store.find('current', filter, { limit, sort: { id: 1 } });
}

/**
 * The one resource conditional criteria select, or none; several are a 412 (the criteria are not
 * selective enough), as the spec prescribes for conditional update and patch.
 */
export async function findSingle(deps: InteractionDeps, scope: AccessScope, type: string, params: Record<string, string[]>, what: string): Promise<StoredRecord | undefined> {
  const matches = await findMatches(deps, scope, type, params, 2);
  if (matches.length > 1) {
    throw new FhirError('precondition-failed', `The ${what} criteria match more than one ${type}; make them more selective`);
  }
  return matches[0];
}

/**
 * Runs `work` holding the lock of a conditional create's criteria, so two requests creating on the
 * same criteria cannot both find nothing and both create. A transaction took the locks of all its
 * conditional entries up front (in sorted order, so transactions cannot deadlock) and holds them
 * until its commit: its entries run without locking again.
 */
export async function withCreateLock<T>(deps: InteractionDeps, exchange: Exchange, key: string, work: () => Promise<T>): Promise<T> {
  if (exchange.unit) return work();
  const release = await deps.locks.acquire([key]);
  try {
    return await work();
  } finally {
    release();
  }
}

/**
 * A conditional write that will create when nothing matches may need more than the permission it
 * was authorized with (update, not create): creating is authorized as the create it amounts to.
 */
export async function authorizeCreate(deps: InteractionDeps, exchange: Exchange, body: unknown): Promise<void> {
  await deps.authorize({ ...exchange.request, interaction: 'create', id: undefined, params: {}, body }, exchange.records);
}

/**
 * The grant of a request planned but not yet run (a transaction's conditional entry, a conditional
 * reference's search), as authorization decides it, so a match search sees what that request could
 * see; the request is authorized again when it runs.
 */
export async function authorizedScope(deps: InteractionDeps, exchange: Exchange, request: FhirRequest): Promise<AccessScope> {
  return { request, access: await deps.authorize(request, exchange.records), consent: emptyConsentNote() };
}

/** The answer to a conditional create that found its resource: 200 and the resource, nothing written. */
export function matchedResult(record: StoredRecord, resource: FhirResult['resource'], request: FhirRequest): FhirResult {
  const version = { resourceType: record.resourceType, id: record.id, versionId: String(record.versionId), lastUpdated: record.lastUpdated };
  return request.preferReturn === 'minimal' ? { kind: 'ok', version } : { kind: 'ok', version, resource };
}
