import { DATE_MAX, DATE_MIN } from './fields.js';

/** Inclusive bounds of a date value as ISO instants in UTC with millisecond precision. */
export interface DateRange {
  lo: string;
  hi: string;
}

// year, month, day, hour, minute, second, fraction, zone
const DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The implicit range of a FHIR date, dateTime or instant: every instant the value's precision
 * covers (https://hl7.org/fhir/R4/search.html#date). `2024` is 2024-01-01T00:00:00.000Z to
 * 2024-12-31T23:59:59.999Z; `2024-03-01T10:00:00+01:00` is 09:00:00.000Z to 09:00:00.999Z.
 *
 * Values without a time zone (dates, partial dates, and search values such as
 * `2024-03-01T10:00`) are taken as UTC. The spec suggests the server's local time zone; UTC
 * keeps results independent of where the server runs. Search values may stop at the minute
 * (`T10:00`), which FHIR dateTime itself does not allow.
 *
 * Returns undefined for text that is not such a value, or not a real date (e.g. `2023-02-29`).
 */
export function dateRange(text: string): DateRange | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = mo === undefined ? undefined : Number(mo);
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && (day < 1 || day > daysIn(year, month as number))) return undefined;
  if (month === undefined) return { lo: iso(year, 1, 1), hi: endOf(year, 12, 31) };
  if (day === undefined) return { lo: iso(year, month, 1), hi: endOf(year, month, daysIn(year, month)) };
  if (h === undefined) return { lo: iso(year, month, day), hi: endOf(year, month, day) };
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? undefined : Number(s);
  if (hour > 23 || minute > 59 || (second !== undefined && second > 59)) return undefined;
  const offset = zone === undefined ? 0 : zoneMinutes(zone);
  if (offset === undefined) return undefined;
  const start = utcMillis(year, month, day) + ((hour * 60 + minute - offset) * 60 + (second ?? 0)) * 1000 + fractionMillis(frac);
  const width = second === undefined ? 60_000 : frac === undefined ? 1000 : 10 ** Math.max(0, 3 - frac.length);
  return clamp(start, start + width - 1);
}

/** True when `text` is a date FhirGate can search on. */
export function isDateValue(text: string): boolean {
  return dateRange(text) !== undefined;
}

function fractionMillis(frac: string | undefined): number {
  if (frac === undefined) return 0;
  // Finer than a millisecond is truncated: instants are stored with millisecond precision.
  return Number(frac.slice(0, 3).padEnd(3, '0'));
}

function zoneMinutes(zone: string): number | undefined {
  if (zone === 'Z') return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (hours > 14 || minutes > 59) return undefined;
  return (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

function daysIn(year: number, month: number): number {
  return new Date(utcMillis(year, month + 1, 1) - 86_400_000).getUTCDate();
}

/** Milliseconds of midnight UTC on a date; setUTCFullYear keeps years 0-99 literal (Date.UTC maps them to 19xx). */
function utcMillis(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(0, 0, 0, 0);
  return date.getTime();
}

function iso(year: number, month: number, day: number): string {
  return new Date(utcMillis(year, month, day)).toISOString();
}

function endOf(year: number, month: number, day: number): string {
  return new Date(utcMillis(year, month, day) + 86_399_999).toISOString();
}

/** Keeps bounds inside the sentinels: a zone offset can push year 0001 or 9999 out of four digits. */
function clamp(lo: number, hi: number): DateRange {
  const min = Date.parse(DATE_MIN);
  const max = Date.parse(DATE_MAX);
  return {
    lo: new Date(Math.min(Math.max(lo, min), max)).toISOString(),
    hi: new Date(Math.min(Math.max(hi, min), max)).toISOString(),
  };
}
