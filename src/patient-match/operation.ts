import type { Bundle, BundleEntry, Patient } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { booleanInput, inputNamed, integerInput, operationInput } from '../fhir/operation-parameters.js';
import type { Exchange } from '../fhir/exchange.js';
import type { InteractionDeps } from '../fhir/pipeline.js';
import type { FhirRequest, FhirResult } from '../fhir/request.js';
import { candidateQueries, findCandidates } from './candidates.js';
import { scoreMatch, type MatchScore } from './score.js';

const OP = 'Patient/$match';
export const MATCH_GRADE_URL = 'http://hl7.org/fhir/StructureDefinition/match-grade';
/** Matches returned when the client gives no `count`. */
export const DEFAULT_MATCH_COUNT = 10;

/**
 * `Patient/$match` (operation-patient-match.html): candidates from indexed queries on the
 * identifiers, names and birth date of the given Patient, scored (`score.ts`), best first, as a
 * searchset Bundle with `search.score` and the match-grade extension. Patients merged away
 * (`replaced-by`) are not offered: their survivor is the one to use. What is returned is
 * restricted by scopes, compartment and Consents (the access filter here; authorization and the
 * consent gate check the entries again), and the pipeline audits the matches returned.
 */
export async function match(request: FhirRequest, deps: InteractionDeps, exchange: Exchange): Promise<FhirResult> {
  const input = operationInput(request, OP);
  const patient = inputNamed(input, 'resource', OP)?.resource as Patient | undefined;
  if (!patient || patient.resourceType !== 'Patient') throw new FhirError('bad-request', `${OP} needs the parameter 'resource' holding a Patient`);
  const onlyCertain = booleanInput(input, 'onlyCertainMatches', OP) ?? false;
  const count = Math.min(integerInput(input, 'count', OP) ?? DEFAULT_MATCH_COUNT, deps.paging.maxPageSize);
  const queries = candidateQueries(deps, patient);
  if (queries.length === 0) throw new FhirError('bad-request', `${OP}: the Patient needs an identifier, or a name with a birth date, or a family and a given name`);

  const scored = (await findCandidates(deps, exchange, queries))
    .filter((p) => !p.link?.some((l) => l.type === 'replaced-by'))
    .map((p) => ({ patient: p, ...scoreMatch(patient, p) }))
    .filter((m): m is { patient: Patient } & MatchScore & { grade: NonNullable<MatchScore['grade']> } => m.grade !== undefined)
    .sort((a, b) => b.score - a.score || a.patient.id!.localeCompare(b.patient.id!));
  // onlyCertainMatches: one certain match or nothing; several certain ones cannot be told apart (operation-patient-match.html).
  const certain = scored.filter((m) => m.grade === 'certain');
  const chosen = onlyCertain ? (certain.length === 1 ? certain : []) : scored.slice(0, count);
  const entry = chosen.map(
    (m): BundleEntry => ({
      fullUrl: `${request.context.baseUrl}/Patient/${m.patient.id}`,
      resource: m.patient,
      search: { mode: 'match', score: m.score, extension: [{ url: MATCH_GRADE_URL, valueCode: m.grade }] },
    }),
  );
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry };
  return { kind: 'ok', resource: bundle };
}
