import type { Resource } from '@medplum/fhirtypes';
import { authorizedScope, findMatches } from '../conditional.js';
import type { Exchange } from '../exchange.js';
import { FhirError } from '../errors.js';
import { paramsOf } from '../params.js';
import type { InteractionDeps } from '../pipeline.js';

/**
 * References between the entries of a transaction (http.html#trules, bundle.html#references):
 * every `fullUrl` (`urn:uuid:`, `urn:oid:` or an absolute URL) becomes the `Type/id` the server
 * gives that entry, and every reference to it, anywhere in the bundle, is rewritten.
 */
export type IdentityMap = Map<string, string>;

const TYPE_ID = /^([A-Z][A-Za-z]{0,63})\/([A-Za-z0-9\-.]{1,64})$/;
const CONDITIONAL = /^([A-Z][A-Za-z]{0,63})\?(.+)$/;

/** `http://x/fhir` of `http://x/fhir/Patient/1`; undefined for `urn:` identities. */
export function baseOf(fullUrl: string | undefined): string | undefined {
  if (!fullUrl || fullUrl.startsWith('urn:')) return undefined;
  const match = /^(.*)\/[A-Z][A-Za-z]{0,63}\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?$/.exec(fullUrl);
  return match?.[1];
}

/**
 * The target of one reference value after rewriting: a bundle identity (exactly as written, or a
 * relative `Type/id` read against the referring entry's base), else the value unchanged.
 */
function rewriteValue(value: string, map: IdentityMap, base: string | undefined): string {
  const direct = map.get(value);
  if (direct) return direct;
  if (base && TYPE_ID.test(value)) return map.get(`${base}/${value}`) ?? value;
  return value;
}

/**
 * A copy of the resource with every reference into the bundle rewritten: `Reference.reference`,
 * any other string equal to a `urn:` identity (uri, url and canonical elements), and `href`/`src`
 * attributes in the narrative.
 */
export function rewriteReferences<T>(value: T, map: IdentityMap, base: string | undefined): T {
  if (map.size === 0) return value;
  const walk = (node: unknown, key: string | undefined): unknown => {
    if (typeof node === 'string') {
      if (key === 'div') return rewriteNarrative(node, map);
      if (key === 'reference' || node.startsWith('urn:')) return rewriteValue(node, map, key === 'reference' ? base : undefined);
      return node;
    }
    if (Array.isArray(node)) return node.map((item) => walk(item, key));
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, k)]));
    }
    return node;
  };
  return walk(value, undefined) as T;
}

function rewriteNarrative(div: string, map: IdentityMap): string {
  return div.replace(/(\s(?:href|src)=")([^"]+)(")/g, (whole, open: string, url: string, close: string) => {
    const target = map.get(url);
    return target ? `${open}${target}${close}` : whole;
  });
}

/** Search criteria with bundle identities rewritten (e.g. `Observation?subject=urn:uuid:...`). */
export function rewriteParams(params: Record<string, string[]>, map: IdentityMap): Record<string, string[]> {
  if (map.size === 0) return params;
  return Object.fromEntries(Object.entries(params).map(([name, values]) => [name, values.map((v) => map.get(v) ?? v)]));
}

/** Every conditional reference (`Patient?identifier=sys|1`) in a resource. */
export function conditionalReferences(resource: unknown): string[] {
  const found = new Set<string>();
  const walk = (node: unknown, key: string | undefined): void => {
    if (typeof node === 'string') {
      if (key === 'reference' && CONDITIONAL.test(node)) found.add(node);
    } else if (Array.isArray(node)) node.forEach((item) => walk(item, key));
    else if (typeof node === 'object' && node !== null) for (const [k, v] of Object.entries(node)) walk(v, k);
  };
  walk(resource, undefined);
  return [...found];
}

/**
 * Resolves conditional references (http.html#trules, step 5) by the search they are: authorized as
 * a search of that type for the caller, within the caller's grant. Exactly one match becomes
 * `Type/id`; none is a 404, several a 412, both naming the reference. Distinct references resolve once.
 */
export async function resolveConditionalReferences(deps: InteractionDeps, exchange: Exchange, references: string[], cache: IdentityMap): Promise<void> {
  for (const reference of references) {
    if (cache.has(reference)) continue;
    const [, type, query] = CONDITIONAL.exec(reference)!;
    if (!deps.registry.has(type)) throw new FhirError('unknown-type', `The conditional reference '${reference.slice(0, 120)}' names ${type}, which this server does not serve`);
    const params = paramsOf(new URLSearchParams(query));
    const scope = await authorizedScope(deps, exchange, { interaction: 'search-type', resourceType: type, params, context: exchange.request.context });
    const matches = await findMatches(deps, scope, type, params, 2);
    if (matches.length === 0) throw new FhirError('not-found', `The conditional reference '${reference.slice(0, 120)}' matches no ${type}`);
    if (matches.length > 1) throw new FhirError('precondition-failed', `The conditional reference '${reference.slice(0, 120)}' matches more than one ${type}`);
    cache.set(reference, `${type}/${matches[0].id}`);
  }
}

/** Replaces resolved conditional references (an exact-match rewrite: the map holds only them). */
export function applyConditionalReferences<T extends Resource | unknown>(resource: T, resolved: IdentityMap): T {
  return rewriteReferences(resource, resolved, undefined);
}
