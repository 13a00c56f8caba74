import type { ParametersParameter } from '@medplum/fhirtypes';
import { operationInput } from '../fhir/operation-parameters.js';
import type { InteractionDeps } from '../fhir/pipeline.js';
import type { FhirRequest, FhirResult } from '../fhir/request.js';
import { entriesPath, sortKey } from '../search/index/fields.js';
import { groupCountOf, type Filter } from '../store/port.js';
import { periodParameter, reportPeriod, type ReportPeriod } from './period.js';

/** Appointments that take a practitioner's time: not cancelled, no-show or entered in error (valueset-appointmentstatus.html). */
const ACTIVE_APPOINTMENT = ['proposed', 'pending', 'booked', 'arrived', 'fulfilled', 'checked-in', 'waitlist'];

/** A report counting one type's current resources in a period per practitioner a reference parameter names. */
interface PerPractitioner {
  operation: string;
  type: string;
  /** The date parameter placing a resource in the period. */
  date: string;
  /** The reference parameter naming the practitioner. */
  reference: string;
  /** Further criteria (parameter → OR-ed values). */
  where?: Readonly<Record<string, readonly string[]>>;
}

const PRESCRIPTIONS: PerPractitioner = { operation: 'MedicationRequest/$prescriptions-by-practitioner', type: 'MedicationRequest', date: 'authoredon', reference: 'requester' };
const APPOINTMENTS: PerPractitioner = { operation: 'Appointment/$appointment-load', type: 'Appointment', date: 'date', reference: 'actor', where: { status: ACTIVE_APPOINTMENT } };

/**
 * The filter of a report's resources in a period: current, live, the report's criteria, and the
 * date starting within the period. The start is the date parameter's ascending sort value (the
 * earliest instant of the value; src/search/index/fields.ts), one scalar the store compares
 * exactly in its index, where a FHIR date search (`ge`/`le` on ranges) needs a re-check of every match.
 */
export function periodFilter(deps: InteractionDeps, type: string, date: string, period: ReportPeriod, where: PerPractitioner['where'] = {}): Filter {
  const compile = (code: string, values: readonly string[]): Filter => deps.searchIndex.compile(type, code, undefined, [...values]);
  const starts = { [`index.${sortKey(date, 1)}`]: { $gte: period.from, $lt: period.to } };
  return { $and: [{ resourceType: type, deleted: false }, starts, ...Object.entries(where).map(([code, values]) => compile(code, values))] };
}

async function perPractitioner(report: PerPractitioner, request: FhirRequest, deps: InteractionDeps): Promise<FhirResult> {
  const period = reportPeriod(operationInput(request, report.operation), report.operation, deps.clock());
  const groups = await groupCountOf(deps.store, 'current', periodFilter(deps, report.type, report.date, period, report.where), `${entriesPath(report.reference)}.r`);
  const rows = groups
    .filter((g) => typeof g.value === 'string' && g.value.startsWith('Practitioner/'))
    .sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)));
  const parameter: ParametersParameter[] = [
    periodParameter(period),
    { name: 'total', valueInteger: rows.reduce((sum, r) => sum + r.count, 0) },
    ...rows.map((r): ParametersParameter => ({ name: 'practitioner', part: [{ name: 'practitioner', valueReference: { reference: String(r.value) } }, { name: 'count', valueInteger: r.count }] })),
  ];
  return { kind: 'ok', resource: { resourceType: 'Parameters', parameter } };
}

/** Prescriptions (MedicationRequests authored in the period) per requesting Practitioner. */
export const prescriptionsByPractitioner = (request: FhirRequest, deps: InteractionDeps): Promise<FhirResult> => perPractitioner(PRESCRIPTIONS, request, deps);

/** Appointment load: Appointments in the period, not cancelled, per participating Practitioner. */
export const appointmentLoad = (request: FhirRequest, deps: InteractionDeps): Promise<FhirResult> => perPractitioner(APPOINTMENTS, request, deps);
