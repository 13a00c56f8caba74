import type { ConsentGate } from '../consent/gate.js';
import type { AccessScope } from '../fhir/exchange.js';
import type { Filter } from '../store/port.js';
import { compartmentFilter, type Compartment } from './compartment.js';
import { compileCriteria } from './criteria.js';
import { criteriaContext, type SearchDeps } from './execute.js';
import { parseSearch } from './parse.js';

// Matches no record: an access restriction the index cannot express grants nothing.
const NOTHING: Filter = { id: { $in: [] } };

type AccessDeps = SearchDeps & { patientCompartment: Compartment; consent?: ConsentGate };

/** `accessFilter` of any type for one request: what chain and `_has` sub-queries, $everything and histories apply. */
export function accessOf(deps: AccessDeps, scope: AccessScope): (type: string) => Promise<Filter | undefined> {
  return (type) => accessFilter(deps, scope, type);
}

/**
 * The restriction authorization decided for the request (src/auth/authorize.ts), as a search filter on
 * `type`: the granted patient's compartment (SMART `patient/` scopes, the patient role) and the
 * queries of SMART v2 query-restricted scopes (any one of them). Undefined when unrestricted.
 * Types that cannot be in the compartment (e.g. Practitioner) are not narrowed by it, nor by Consents.
 */
export async function accessFilter(deps: AccessDeps, scope: AccessScope, type: string): Promise<Filter | undefined> {
  const parts: Filter[] = [];
  const { compartment, queries } = scope.access;
  if (compartment) {
    const inCompartment = compartmentFilter(deps.patientCompartment, deps.searchIndex, [compartment.id], type);
    if (inCompartment) parts.push(inCompartment);
  }
  if (queries) {
    const branches = await Promise.all(
      queries.map(async (query) => {
        const parsed = parseSearch(Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [...v]])));
        const compiled = await compileCriteria(criteriaContext(deps), type, parsed.criteria);
        return parsed.issues.length > 0 || compiled.issues.length > 0 ? NOTHING : compiled.filter;
      }),
    );
    parts.push(branches.length === 1 ? branches[0] : { $or: branches });
  }
  // The patients' Consents, as a filter too, so `_total` and paging never count what is withheld (issue 8).
  const consented = await deps.consent?.searchFilter(scope.request.context, type, scope.consent);
  if (consented) parts.push(consented);
  return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { $and: parts };
}
