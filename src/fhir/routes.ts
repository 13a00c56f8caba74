import { FhirError } from './errors.js';
import type { InteractionSpec, RouteMethod } from './interactions/table.js';
import type { FhirRequest, Interaction } from './request.js';

/** What a method and path name: the interaction and the parts of its URL. */
export type Route = Pick<FhirRequest, 'interaction' | 'resourceType' | 'id' | 'versionId' | 'compartmentTarget'>;

/** Why nothing matched: no such path, an operation not offered there, or a path that other methods serve. */
export type RouteMiss =
  | { miss: 'no-route' }
  | { miss: 'operation'; name: string; level: 'type' | 'instance'; resourceType: string }
  | { miss: 'method'; allow: string[] };

export const TYPE_NAME = /^[A-Z][A-Za-z]{0,63}$/;

interface Compiled {
  interaction: Interaction;
  method: RouteMethod;
  segments: readonly string[];
  /** Per segment, the Route field a placeholder fills (`[id]` → `id`); undefined for a literal. */
  fields: ReadonlyArray<string | undefined>;
  inEntries: boolean;
  types?: readonly string[];
}

const FIELDS: Readonly<Record<string, string>> = { '[type]': 'resourceType', '[id]': 'id', '[vid]': 'versionId', '[target]': 'compartmentTarget' };

/**
 * Every route of the interaction table, most specific first: at the first position where two
 * patterns differ, a literal (`_history`, `$validate`) wins over a placeholder, as the REST API
 * summary reads (http.html#summary).
 */
function compileRoutes(table: Readonly<Record<string, InteractionSpec>>): Compiled[] {
  const all = Object.entries(table).flatMap(([interaction, spec]) =>
    spec.routes.map((r) => {
      const segments = r.path.split('/').filter(Boolean);
      const fields = segments.map((p) => (p.startsWith('[') ? (FIELDS[p] ?? p) : undefined));
      return { interaction, method: r.method, segments, fields, inEntries: r.inEntries !== false, ...(spec.operation?.types ? { types: spec.operation.types } : {}) };
    }),
  );
  const rank = (s: string): string => (s.startsWith('[') ? '1' : '0');
  return all.sort((a, b) => a.segments.map(rank).join('').localeCompare(b.segments.map(rank).join('')));
}

function matches(pattern: Compiled, segments: readonly string[]): Route | undefined {
  if (pattern.segments.length !== segments.length) return undefined;
  // Checked before anything is built: most patterns of the right length miss on a literal.
  for (let i = 0; i < segments.length; i++) {
    // An operation is named, never a placeholder's value; other literals win by rank (compileRoutes).
    if (pattern.fields[i] === undefined ? pattern.segments[i] !== segments[i] : segments[i].startsWith('$')) return undefined;
  }
  const route: { [k: string]: string } = { interaction: pattern.interaction };
  for (let i = 0; i < segments.length; i++) {
    const field = pattern.fields[i];
    if (field !== undefined) route[field] = segments[i];
  }
  if (pattern.types && !pattern.types.includes(route.resourceType)) return undefined;
  return route as unknown as Route;
}

/** Resolves a method and the path segments after the FHIR base to an interaction. HEAD is GET. */
export type Router = (method: string, segments: readonly string[], where: 'http' | 'entry') => Route | RouteMiss;

/**
 * The one router (issue 16), built from the interaction table's route patterns, for the HTTP edge
 * and for bundle entries alike. The table is passed in: the bundle interactions are rows of it.
 */
export function createRouter(table: Readonly<Record<string, InteractionSpec>>): Router {
  const routes = compileRoutes(table);
  // The patterns each door may use, by their number of segments (in rank order): a request is matched against its own length only.
  const byLength = (patterns: readonly Compiled[]): Map<number, Compiled[]> => {
    const grouped = new Map<number, Compiled[]>();
    for (const p of patterns) grouped.set(p.segments.length, [...(grouped.get(p.segments.length) ?? []), p]);
    return grouped;
  };
  const doors = { http: byLength(routes), entry: byLength(routes.filter((r) => r.inEntries)) };
  return (method, segments, where) => resolveRoute(doors[where].get(segments.length) ?? [], method, segments);
}

function resolveRoute(candidates: readonly Compiled[], method: string, segments: readonly string[]): Route | RouteMiss {
  const wanted = method === 'HEAD' ? 'GET' : method;
  const allow = new Set<string>();
  for (const pattern of candidates) {
    const route = matches(pattern, segments);
    if (!route) continue;
    if (pattern.method === wanted) return route;
    allow.add(pattern.method);
  }
  const last = segments.length - 1;
  if ((last === 1 || last === 2) && segments[last].startsWith('$')) {
    return { miss: 'operation', name: segments[last].slice(1), level: last === 1 ? 'type' : 'instance', resourceType: segments[0] };
  }
  if (allow.size === 0) return { miss: 'no-route' };
  const methods = [...allow];
  return { miss: 'method', allow: methods.includes('GET') ? ['GET', 'HEAD', ...methods.filter((m) => m !== 'GET')] : methods };
}

export function isMiss(route: Route | RouteMiss): route is RouteMiss {
  return 'miss' in route;
}

/** A resource type named in a URL, checked before anything runs: 404 for what cannot be a type name. */
export function assertTypeName(type: string | undefined): void {
  if (type !== undefined && !TYPE_NAME.test(type)) throw new FhirError('unknown-type', `'${type.slice(0, 64)}' is not a resource type`);
}
