import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { SearchParameter } from '@medplum/fhirtypes';

/** A search parameter's values on one resource, with the parameter's type. */
export interface ParamPath {
  type: string;
  values(resource: unknown): unknown[];
}

// `trace()` must not write to stdout; results come back as plain JSON values.
const OPTIONS = { traceFn: () => undefined } as const;

/**
 * Resolves search parameters of the official definitions to evaluators over a resource, for the
 * authorization checks that look inside resources (query-restricted scopes; compartment membership is
 * `src/search/compartment.ts`'s, read with the search index).
 * Only the expression's branches for the resource's own type are kept, and `.where(resolve() is X)`
 * is dropped: callers match the reference's type themselves, without resolving anything.
 */
export function createParamPaths(searchParameters: readonly SearchParameter[]): (resourceType: string, code: string) => ParamPath | undefined {
  const cache = new Map<string, ParamPath | undefined>();
  return (resourceType, code) => {
    const key = `${resourceType}.${code}`;
    if (!cache.has(key)) cache.set(key, compile(searchParameters, resourceType, code));
    return cache.get(key);
  };
}

function compile(searchParameters: readonly SearchParameter[], resourceType: string, code: string): ParamPath | undefined {
  const bases = [resourceType, 'Resource', 'DomainResource'];
  const sp = searchParameters.find((p) => p.code === code && p.base?.some((b) => bases.includes(b)));
  if (!sp?.expression || !sp.type) return undefined;
  const branches = sp.expression
    .split(' | ')
    .map((b) => b.trim().replace(/\.where\(resolve\(\) is [A-Za-z]+\)/g, ''))
    .filter((b) => b.startsWith(`${resourceType}.`) || bases.slice(1).some((base) => b.startsWith(`${base}.`)))
    .map((b) => fhirpath.compile(b.replace(/^(Resource|DomainResource)\./, `${resourceType}.`), r4Model, OPTIONS) as (r: unknown) => unknown);
  if (branches.length === 0) return undefined;
  return {
    type: sp.type,
    values: (resource) => branches.flatMap((fn) => {
      const out = fn(resource);
      return Array.isArray(out) ? out : [out];
    }),
  };
}

/** The reference strings among evaluated values (Reference.reference, or plain strings). */
export function referencesIn(values: readonly unknown[]): string[] {
  return values.flatMap((v) => (typeof v === 'string' ? [v] : typeof (v as { reference?: unknown })?.reference === 'string' ? [(v as { reference: string }).reference] : []));
}
