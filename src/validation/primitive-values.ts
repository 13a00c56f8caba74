import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { makeIssue } from './issues.js';

const DATE_PREFIX = /^(\d{4})-(\d{2})-(\d{2})/;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Checks a primitive value beyond what the JSON schema's regexes can say. Today that is the
 * calendar: the R4 regexes accept `2021-02-30`, but "Dates SHALL be valid dates"
 * (https://hl7.org/fhir/R4/datatypes.html#date). Malformed values are left to the schema layer.
 */
export function checkPrimitiveValue(type: string, value: unknown, location: string): OperationOutcomeIssue | undefined {
  if ((type !== 'date' && type !== 'dateTime' && type !== 'instant') || typeof value !== 'string') return undefined;
  const match = DATE_PREFIX.exec(value);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12 || day < 1) return undefined; // the schema's pattern reports these
  const days = daysIn(year, month);
  if (day <= days) return undefined;
  return makeIssue('error', 'value', `The value '${value}' is not a valid ${type}: ${MONTHS[month - 1]} ${year} has ${days} days`, location);
}
