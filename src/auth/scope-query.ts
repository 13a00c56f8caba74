import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { createParamPaths, referencesIn } from './resource-paths.js';

/** Whether a resource satisfies a SMART v2 query-restricted scope (`patient/Observation.rs?category=laboratory`). */
export type ScopeQueryMatcher = (resource: Resource, query: Readonly<Record<string, readonly string[]>>) => boolean;

/**
 * Matches a resource against the query of a restricted scope, for the checks done on single
 * resources (read, writes, results). Token, string, reference and uri parameters are supported
 * without modifiers; anything else does not match, so an unsupported restriction grants nothing.
 */
export function createScopeQueryMatcher(searchParameters: readonly SearchParameter[]): ScopeQueryMatcher {
  const paths = createParamPaths(searchParameters);
  return (resource, query) =>
    Object.entries(query).every(([name, values]) => {
      const path = paths(resource.resourceType, name);
      if (!path) return false;
      const found = path.values(resource);
      // Repeated parameters AND, comma-separated values OR (search.html#combining).
      return values.every((value) => value.split(',').some((one) => found.some((v) => matches(path.type, v, one))));
    });
}

function matches(type: string, value: unknown, wanted: string): boolean {
  switch (type) {
    case 'token':
      return tokens(value).some(({ system, code }) => {
        const bar = wanted.indexOf('|');
        if (bar < 0) return code === wanted;
        const [s, c] = [wanted.slice(0, bar), wanted.slice(bar + 1)];
        return code === c && (s === '' ? system === undefined : system === s);
      });
    case 'string':
      return strings(value).some((s) => s.toLowerCase().startsWith(wanted.toLowerCase()));
    case 'reference':
      return referencesIn([value]).some((ref) => ref === wanted || ref.endsWith(`/${wanted}`));
    case 'uri':
      return value === wanted;
    default:
      return false;
  }
}

function tokens(value: unknown): Array<{ system?: string; code: string }> {
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return [{ code: String(value) }];
  const v = value as { coding?: unknown[]; system?: string; code?: string; value?: string };
  if (Array.isArray(v?.coding)) return v.coding.flatMap(tokens);
  if (typeof v?.code === 'string') return [{ system: v.system, code: v.code }];
  if (typeof v?.value === 'string') return [{ system: v.system, code: v.value }];
  return [];
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap((v) => (Array.isArray(v) ? v.flatMap(strings) : strings(v)));
  return [];
}
