import type { Parameters, ParametersParameter, Period } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { inputNamed } from '../fhir/operation-parameters.js';

const DAY_MS = 86_400_000;
/** The longest period a report covers, and the most buckets (days, weeks, months) it splits into. */
export const MAX_REPORT_DAYS = 366;
export const DEFAULT_REPORT_DAYS = 30;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A report's period: whole UTC days from `start` to `end`, both included (`[from, to)` as instants). */
export interface ReportPeriod {
  start: string;
  end: string;
  from: string;
  to: string;
}

export type Interval = 'day' | 'week' | 'month';

const iso = (ms: number): string => new Date(ms).toISOString();
const dateOf = (ms: number): string => iso(ms).slice(0, 10);

function dateInput(input: Parameters, name: string, operation: string): string | undefined {
  const p = inputNamed(input, name, operation);
  if (!p) return undefined;
  const value = p.valueDate ?? p.valueString;
  if (!value || !DATE.test(value) || Number.isNaN(Date.parse(value))) throw new FhirError('bad-request', `${operation}: ${name} must be a date (YYYY-MM-DD)`);
  return value;
}

/** `start` and `end` (dates, both included; default: the DEFAULT_REPORT_DAYS days ending today), at most MAX_REPORT_DAYS. */
export function reportPeriod(input: Parameters, operation: string, now: Date): ReportPeriod {
  const end = dateInput(input, 'end', operation) ?? dateOf(now.getTime());
  const start = dateInput(input, 'start', operation) ?? dateOf(Date.parse(end) - (DEFAULT_REPORT_DAYS - 1) * DAY_MS);
  const from = Date.parse(start);
  const to = Date.parse(end) + DAY_MS;
  if (to <= from) throw new FhirError('bad-request', `${operation}: start must not be after end`);
  if ((to - from) / DAY_MS > MAX_REPORT_DAYS) throw new FhirError('bad-request', `${operation}: a report covers at most ${MAX_REPORT_DAYS} days`);
  return { start, end, from: iso(from), to: iso(to) };
}

/** `interval`: day, week or month; undefined for the whole period at once. */
export function intervalInput(input: Parameters, operation: string): Interval | undefined {
  const p = inputNamed(input, 'interval', operation);
  const value = p?.valueCode ?? p?.valueString;
  if (value === undefined) return undefined;
  if (value !== 'day' && value !== 'week' && value !== 'month') throw new FhirError('bad-request', `${operation}: interval must be day, week or month`);
  return value;
}

/** The period cut into buckets of `interval` (the last one cut at the period's end); the whole period when none. */
export function buckets(period: ReportPeriod, interval: Interval | undefined): ReportPeriod[] {
  const end = Date.parse(period.to);
  if (!interval) return [period];
  const out: ReportPeriod[] = [];
  for (let from = Date.parse(period.from); from < end; ) {
    const d = new Date(from);
    const next = interval === 'day' ? from + DAY_MS : interval === 'week' ? from + 7 * DAY_MS : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    const to = Math.min(next, end);
    out.push({ start: dateOf(from), end: dateOf(to - DAY_MS), from: iso(from), to: iso(to) });
    from = to;
  }
  return out;
}

/** The period as output parameters. */
export function periodParameter(period: ReportPeriod): ParametersParameter {
  const value: Period = { start: period.start, end: period.end };
  return { name: 'period', valuePeriod: value };
}
