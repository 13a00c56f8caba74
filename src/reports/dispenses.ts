import type { ParametersParameter } from '@medplum/fhirtypes';
import { operationInput } from '../fhir/operation-parameters.js';
import type { InteractionDeps } from '../fhir/pipeline.js';
import type { FhirRequest, FhirResult } from '../fhir/request.js';
import { entriesPath } from '../search/index/fields.js';
import { groupCountOf } from '../store/port.js';
import { buckets, intervalInput, periodParameter, reportPeriod } from './period.js';
import { periodFilter } from './per-practitioner.js';

const OP = 'MedicationDispense/$dispenses-by-medication';
/** Dispenses that hand medication over (the statuses that use up a fill, src/workflow/dispensing.ts). */
const DISPENSED = ['completed', 'in-progress'];

/**
 * Dispenses by medication and period: MedicationDispenses handed over (completed or in progress) in the period (or in each
 * `interval` of it), per medication code (`medicationCodeableConcept`) and per Medication
 * referenced (`medicationReference`), counted on the search index.
 */
export async function dispensesByMedication(request: FhirRequest, deps: InteractionDeps): Promise<FhirResult> {
  const input = operationInput(request, OP);
  const period = reportPeriod(input, OP, deps.clock());
  const parts = await Promise.all(
    buckets(period, intervalInput(input, OP)).map(async (bucket) => {
      const filter = periodFilter(deps, 'MedicationDispense', 'whenhandedover', bucket, { status: DISPENSED });
      const [codes, references] = await Promise.all([
        groupCountOf(deps.store, 'current', filter, `${entriesPath('code')}.c`),
        groupCountOf(deps.store, 'current', filter, `${entriesPath('medication')}.r`),
      ]);
      const rows = [
        ...codes.map((g) => ({ part: { name: 'code', valueCode: String(g.value) }, count: g.count })),
        ...references.map((g) => ({ part: { name: 'medication', valueReference: { reference: String(g.value) } }, count: g.count })),
      ].sort((a, b) => b.count - a.count);
      return rows.map((row): ParametersParameter => ({ name: 'dispensed', part: [periodParameter(bucket), row.part, { name: 'count', valueInteger: row.count }] }));
    }),
  );
  const rows = parts.flat();
  const total = rows.reduce((sum, r) => sum + (r.part!.at(-1)!.valueInteger ?? 0), 0);
  return { kind: 'ok', resource: { resourceType: 'Parameters', parameter: [periodParameter(period), { name: 'total', valueInteger: total }, ...rows] } };
}
