import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { accessFilter } from '../../search/access-filter.js';
import { decodeCursor, readPage, type SortKey } from '../../search/keyset.js';
import type { Filter, StoredRecord } from '../../store/port.js';
import { pageLinks } from '../bundles/links.js';
import { newId } from '../ids.js';
import type { Exchange } from '../exchange.js';
import { decode as resourceOf } from '../loader.js';
import { instantParam, pageSize, single } from '../params.js';
import type { PipelineDeps } from '../pipeline.js';
import { etagOf } from '../preconditions.js';
import type { FhirRequest, FhirResult } from '../request.js';
import { FhirError } from '../errors.js';
import { atParam, readPageAt } from '../history-at.js';

// Newest first (http.html#history); id and versionId make the order total for keyset paging.
const INSTANCE_KEYS: SortKey[] = [{ field: 'versionId', direction: -1 }];
const TYPE_KEYS: SortKey[] = [
  { field: 'lastUpdated', direction: -1 },
  { field: 'id', direction: -1 },
  { field: 'versionId', direction: -1 },
];

/** history of one resource (`GET [type]/[id]/_history`): every version, deletions included. */
export async function historyInstance(request: FhirRequest, deps: PipelineDeps, exchange: Exchange): Promise<FhirResult> {
  const type = request.resourceType!;
  const id = request.id!;
  deps.registry.assertSupports(type, 'history-instance');
  if (!(await exchange.records.current(type, id))) throw new FhirError('not-found', `${type}/${id} is not known`);
  return history(request, deps, { resourceType: type, id }, INSTANCE_KEYS, `${type}/${id}/_history`);
}

/** history of a type (`GET [type]/_history`). */
export async function historyType(request: FhirRequest, deps: PipelineDeps, exchange: Exchange): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.assertSupports(type, 'history-type');
  return history(request, deps, await visibleOf(exchange, deps, type), TYPE_KEYS, `${type}/_history`);
}

/** The history of every served type (`GET _history`, http.html#history): newest first, deletions included. */
export async function historySystem(request: FhirRequest, deps: PipelineDeps, exchange: Exchange): Promise<FhirResult> {
  const branches = await Promise.all(deps.registry.types.map((type) => visibleOf(exchange, deps, type)));
  const restricted = branches.some((b) => Object.keys(b).length > 1);
  return history(request, deps, restricted ? { $or: branches } : { resourceType: { $in: [...deps.registry.types] } }, TYPE_KEYS, '_history');
}

/**
 * The versions of `type` the requester may see (authorization, Consents: `accessFilter`), decided on
 * each version's own search values, so pages and their links never count what is withheld.
 * A deletion carries the search values of the version it deleted (write.ts), so it is withheld alike.
 */
async function visibleOf(exchange: Exchange, deps: PipelineDeps, type: string): Promise<Filter> {
  const restriction = await accessFilter(deps, exchange, type);
  return restriction ? { resourceType: type, $and: [restriction] } : { resourceType: type };
}

async function history(request: FhirRequest, deps: PipelineDeps, scope: Filter, keys: SortKey[], path: string): Promise<FhirResult> {
  const count = pageSize(request.params, deps.paging);
  const since = instantParam(request.params, '_since');
  const at = atParam(request.params);
  const token = single(request.params, '_cursor');
  const cursor = token === undefined ? undefined : decodeCursor(token, keys.length);
  const bounds = { ...(since ? { $gte: since } : {}), ...(at ? { $lt: at.end } : {}) };
  const filter = since || at ? { ...scope, lastUpdated: bounds } : scope;
  const page = at ? await readPageAt(deps.store, filter, keys, count, at, cursor) : await readPage(deps.store, 'history', filter, keys, count, cursor);
  const applied: Record<string, string> = { _count: String(count), ...(since ? { _since: since } : {}), ...(at ? { _at: single(request.params, '_at')! } : {}) };
  const bundle: Bundle = {
    resourceType: 'Bundle',
    id: newId(),
    meta: { lastUpdated: deps.clock().toISOString() },
    type: 'history',
    link: pageLinks(request.context.baseUrl, path, applied, page, token),
    entry: await Promise.all(page.records.map((r) => historyEntry(deps, request.context.baseUrl, r))),
  };
  return { kind: 'ok', resource: bundle };
}

/** One history entry: the version, and the request that produced it (POST, PUT or DELETE). */
async function historyEntry(deps: PipelineDeps, baseUrl: string, record: StoredRecord): Promise<BundleEntry> {
  const ref = `${record.resourceType}/${record.id}`;
  const method = record.deleted ? 'DELETE' : record.versionId === 1 ? 'POST' : 'PUT';
  return {
    fullUrl: `${baseUrl}/${ref}`,
    ...(record.deleted ? {} : { resource: await resourceOf(deps, record) }),
    request: { method, url: method === 'POST' ? record.resourceType : ref },
    response: {
      status: record.deleted ? '204' : record.versionId === 1 ? '201' : '200',
      etag: etagOf(record.versionId),
      lastModified: record.lastUpdated,
    },
  };
}
