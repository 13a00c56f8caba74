import type { Patient } from '@medplum/fhirtypes';
import type { PipelineDeps } from '../fhir/pipeline.js';
import { tokenValue } from '../patient-merge/resolve.js';
import type { AccessScope } from '../fhir/exchange.js';
import { accessFilter } from '../search/access-filter.js';
import type { Filter } from '../store/port.js';

/** Most Patients one candidate query contributes: a common name on a common birth date stops here. */
export const CANDIDATES_PER_QUERY = 50;

/**
 * The candidate queries of a match, each answered by the search index (never a scan): each
 * identifier of the input; family name with birth date; given name with birth date (a misspelt
 * or changed family name); family with given name when there is no birth date. Names match as
 * FHIR string search does (folded prefix); the score decides.
 */
export function candidateQueries(deps: PipelineDeps, input: Patient): Filter[] {
  const compile = (code: string, value: string): Filter => deps.searchIndex.compile('Patient', code, undefined, [value]);
  const queries: Filter[] = [];
  for (const id of input.identifier ?? []) if (id.value) queries.push(compile('identifier', tokenValue(id)));
  const families = [...new Set((input.name ?? []).map((n) => n.family).filter((f): f is string => !!f))];
  const givens = [...new Set((input.name ?? []).flatMap((n) => n.given ?? []))];
  if (input.birthDate) {
    const born = compile('birthdate', input.birthDate);
    for (const family of families) queries.push({ $and: [compile('family', family), born] });
    for (const given of givens) queries.push({ $and: [compile('given', given), born] });
  } else {
    for (const family of families) for (const given of givens) queries.push({ $and: [compile('family', family), compile('given', given)] });
  }
  return queries;
}

/**
 * The current Patients any candidate query finds, within what the requester may see: the access
 * filter applies the granted compartment, query-restricted scopes and the patients' Consents.
 */
export async function findCandidates(deps: PipelineDeps, scope: AccessScope, queries: readonly Filter[]): Promise<Patient[]> {
  const access = await accessFilter(deps, scope, 'Patient');
  const found = new Map<string, Promise<Patient>>();
  for (const query of queries) {
    const filter: Filter = { $and: [{ resourceType: 'Patient', deleted: false }, ...(access ? [access] : []), query] };
    // By id, an order the store walks per type: where the name and the birth date are both common
    // (a birth year only), the embedded store reads a bounded walk of Patients, then the smaller
    // condition's matches, never the other types' records (an unsorted find walks commit order).
    for (const record of await deps.store.find('current', filter, { limit: CANDIDATES_PER_QUERY, sort: { id: 1 } })) {
      if (!found.has(record.id)) found.set(record.id, deps.codec.decode(record.resource!) as Promise<Patient>);
    }
  }
  return Promise.all(found.values());
}
