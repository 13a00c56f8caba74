import type { ParametersParameter } from '@medplum/fhirtypes';
import { operationInput } from '../fhir/operation-parameters.js';
import type { InteractionDeps } from '../fhir/pipeline.js';
import type { FhirRequest, FhirResult } from '../fhir/request.js';
import { buckets, periodParameter, reportPeriod } from './period.js';

const OP = 'Patient/$new-patients';

/**
 * Daily new patients: Patients whose first version was stored on each day of the period (UTC), so
 * a Patient registered by REST, HL7 v2 or an import counts on the day it reached the server. One
 * indexed count of the history per day (version 1, by `lastUpdated`), never a read of the Patients.
 */
export async function newPatients(request: FhirRequest, deps: InteractionDeps): Promise<FhirResult> {
  const input = operationInput(request, OP);
  const period = reportPeriod(input, OP, deps.clock());
  const days = await Promise.all(
    buckets(period, 'day').map(async (day) => ({ day, count: await deps.store.count('history', { resourceType: 'Patient', versionId: 1, lastUpdated: { $gte: day.from, $lt: day.to } }) })),
  );
  const parameter: ParametersParameter[] = [
    periodParameter(period),
    { name: 'total', valueInteger: days.reduce((sum, d) => sum + d.count, 0) },
    ...days.map(({ day, count }): ParametersParameter => ({ name: 'day', part: [{ name: 'date', valueDate: day.start }, { name: 'count', valueInteger: count }] })),
  ];
  return { kind: 'ok', resource: { resourceType: 'Parameters', parameter } };
}
