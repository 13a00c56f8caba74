import type { Binary, Bundle, BundleEntry } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import { paramsOf } from '../params.js';
import type { Registry } from '../registry.js';
import type { FhirRequest } from '../request.js';
import { assertTypeName, isMiss, type Route, type Router } from '../routes.js';

export type EntryMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One entry of a batch or transaction, turned into the FhirRequest it asks for. */
export interface EntryPlan {
  /** Position in `Bundle.entry` (responses keep this order). */
  index: number;
  method: EntryMethod;
  url: string;
  fullUrl?: string;
  /** The request (immutable); a transaction's planning replaces it with the identity it decided, per attempt. */
  request: FhirRequest;
}

/** An entry that could not even be turned into a request (batch: that entry fails; transaction: all of it). */
export interface EntryProblem {
  index: number;
  method?: string;
  url?: string;
  error: FhirError;
}

/**
 * Checks that the body is a Bundle of the expected type and within the entry limit, before any
 * entry runs (FHIR_MAX_BUNDLE_ENTRIES; the body size is limited at the edge).
 */
export function parseBundle(body: unknown, type: 'transaction' | 'batch', maxEntries: number): Bundle {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || (body as Bundle).resourceType !== 'Bundle') {
    throw new FhirError('invalid-structure', `A ${type} must be a Bundle resource`, { expression: ['Bundle'] });
  }
  const bundle = body as Bundle;
  if (bundle.type !== type) {
    const expected = bundle.type === 'batch' || bundle.type === 'transaction' ? `'${type}'` : `'batch' or 'transaction' to be processed`;
    throw new FhirError('bad-request', `Bundle.type must be ${expected}, not '${String(bundle.type).slice(0, 40)}'`, { expression: ['Bundle.type'] });
  }
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw new FhirError('invalid-structure', 'Bundle.entry must be an array', { expression: ['Bundle.entry'] });
  const count = bundle.entry?.length ?? 0;
  if (count > maxEntries) {
    throw new FhirError('payload-too-large', `The ${type} has ${count} entries; this server accepts at most ${maxEntries} (FHIR_MAX_BUNDLE_ENTRIES)`, { expression: ['Bundle.entry'] });
  }
  return bundle;
}

/** A FhirError of an entry, naming it: `Bundle.entry[3] (PUT Patient/1): ...` with that expression. */
export function entryError(problem: { index: number; method?: string; url?: string }, error: FhirError): FhirError {
  const label = problem.method ? ` (${problem.method} ${String(problem.url).slice(0, 120)})` : '';
  return new FhirError(error.code, `Bundle.entry[${problem.index}]${label}: ${error.message}`, {
    issues: error.outcome.issue.slice(1),
    expression: [`Bundle.entry[${problem.index}]`],
    hints: error.hints,
  });
}

/**
 * Turns every entry into its request. Requests inherit the bundle's context and its `Prefer`; the entry's own
 * preconditions (ifMatch, ifNoneMatch, ifModifiedSince, ifNoneExist) apply to it alone.
 */
export function planEntries(bundle: Bundle, parent: FhirRequest, registry: Registry, router: Router): Array<EntryPlan | EntryProblem> {
  return (bundle.entry ?? []).map((entry, index) => {
    const method = typeof entry?.request?.method === 'string' ? entry.request.method.toUpperCase() : undefined;
    const url = entry?.request?.url;
    try {
      return planEntry(entry, index, parent, registry, router);
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
      return { index, method, url, error: err };
    }
  });
}

export function isProblem(plan: EntryPlan | EntryProblem): plan is EntryProblem {
  return 'error' in plan;
}

const METHODS = new Set<string>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

function planEntry(entry: BundleEntry, index: number, parent: FhirRequest, registry: Registry, router: Router): EntryPlan {
  if (typeof entry !== 'object' || entry === null) throw new FhirError('invalid-structure', 'A Bundle entry must be an object');
  const method = entry.request?.method?.toUpperCase();
  const url = entry.request?.url;
  if (!method || !METHODS.has(method)) throw new FhirError('bad-request', 'entry.request.method must be GET, HEAD, POST, PUT, PATCH or DELETE');
  if (typeof url !== 'string' || url.trim() === '') throw new FhirError('bad-request', 'entry.request.url is required');
  const { segments, params } = splitUrl(url, parent.context.baseUrl);
  const [first] = segments;
  if (first !== undefined && first !== 'metadata' && first !== '_history') {
    assertTypeName(first);
    registry.get(first); // 404 for a type this server does not serve, before any entry runs
  }
  const route = routeOf(router, method as EntryMethod, segments);
  const body = ['POST', 'PUT', 'PATCH'].includes(method) ? bodyOf(method as EntryMethod, entry) : undefined;
  const request: FhirRequest = {
    ...route,
    params,
    ...(body !== undefined ? { body } : {}),
    ...(entry.request?.ifMatch ? { ifMatch: entry.request.ifMatch } : {}),
    ...(entry.request?.ifNoneMatch ? { ifNoneMatch: entry.request.ifNoneMatch } : {}),
    ...(entry.request?.ifModifiedSince ? { ifModifiedSince: entry.request.ifModifiedSince } : {}),
    ...(entry.request?.ifNoneExist ? { ifNoneExist: entry.request.ifNoneExist } : {}),
    ...(parent.preferReturn ? { preferReturn: parent.preferReturn } : {}),
    ...(parent.preferHandling ? { preferHandling: parent.preferHandling } : {}),
    context: parent.context,
  };
  return { index, method: method as EntryMethod, url, ...(entry.fullUrl ? { fullUrl: entry.fullUrl } : {}), request };
}

/** Path segments and query of an entry URL: relative (`Patient/1`, `/Patient?x=y`) or absolute on this server's base. */
function splitUrl(url: string, baseUrl: string): { segments: string[]; params: Record<string, string[]> } {
  let rest = url.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(rest)) {
    if (!rest.startsWith(`${baseUrl}/`) && rest !== baseUrl) throw new FhirError('bad-request', `entry.request.url '${rest.slice(0, 120)}' is not on this server's base ${baseUrl}`);
    rest = rest.slice(baseUrl.length);
  }
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const params = q >= 0 ? paramsOf(new URLSearchParams(rest.slice(q + 1)), (name) => name !== '_format' && name !== '_pretty') : {};
  try {
    return { segments: path.split('/').filter(Boolean).map(decodeURIComponent), params };
  } catch {
    throw new FhirError('bad-request', `entry.request.url '${url.slice(0, 120)}' is not a valid URL`);
  }
}

/** The interaction an entry's method and URL name, by the router HTTP uses (http.html#summary); a Bundle may not nest one. */
function routeOf(router: Router, method: EntryMethod, segments: string[]): Route {
  const route = router(method, segments, 'entry');
  if (isMiss(route)) throw new FhirError('not-supported', `${method} ${segments.join('/').slice(0, 120) || '[base]'} is not supported in a bundle entry`);
  return route;
}

/**
 * The body of a write entry: its resource. A JSON Patch travels as a Binary of type
 * `application/json-patch+json` (http.html#patch, "in a batch or transaction").
 */
function bodyOf(method: EntryMethod, entry: BundleEntry): unknown {
  const resource = entry.resource;
  if (method === 'PATCH' && resource?.resourceType === 'Binary') {
    const binary = resource as Binary;
    if (!/^application\/json-patch\+json\b/i.test(binary.contentType ?? '')) {
      throw new FhirError('unsupported-media-type', 'A PATCH entry holding a Binary must have contentType application/json-patch+json');
    }
    try {
      return JSON.parse(Buffer.from(binary.data ?? '', 'base64').toString('utf8'));
    } catch {
      throw new FhirError('invalid-json', 'The JSON Patch in the Binary is not valid JSON');
    }
  }
  if (resource === undefined) throw new FhirError('bad-request', `A ${method} entry needs a resource`);
  return resource;
}
