import { dateRange, type DateRange } from './date-range.js';
import { sortRange, unique, type Entry, type Extracted } from './extracted.js';
import { DATE_MAX, DATE_MIN } from './fields.js';
import { asObject, list, str, type TypedValue } from './node.js';

/** A Period's range: from its start to its end; a missing end means ongoing, a missing start unknown (both open). */
function periodRange(period: Record<string, unknown>): DateRange | undefined {
  const start = str(period, 'start');
  const end = str(period, 'end');
  if (start === undefined && end === undefined) return undefined;
  const lo = start === undefined ? DATE_MIN : dateRange(start)?.lo;
  const hi = end === undefined ? DATE_MAX : dateRange(end)?.hi;
  return lo !== undefined && hi !== undefined ? { lo, hi } : undefined;
}

/**
 * A Timing's outer limits: its events and repeat bounds. The schedule itself is ignored, as
 * search.html#date says: "only the outer limits matter".
 */
function timingRange(timing: Record<string, unknown>): DateRange | undefined {
  const ranges: DateRange[] = [];
  for (const event of list(timing, 'event')) {
    const r = typeof event === 'string' ? dateRange(event) : undefined;
    if (r) ranges.push(r);
  }
  const bounds = asObject(asObject(timing.repeat)?.boundsPeriod);
  const b = bounds && periodRange(bounds);
  if (b) ranges.push(b);
  if (ranges.length === 0) return undefined;
  return {
    lo: ranges.reduce((m, r) => (r.lo < m ? r.lo : m), ranges[0].lo),
    hi: ranges.reduce((m, r) => (r.hi > m ? r.hi : m), ranges[0].hi),
  };
}

function rangeOf(value: TypedValue): DateRange | undefined {
  if (typeof value.value === 'string') return dateRange(value.value);
  const element = asObject(value.value);
  if (!element) return undefined;
  if (value.type === 'Period') return periodRange(element);
  if (value.type === 'Timing') return timingRange(element);
  return undefined;
}

/**
 * Date entries `{ lo, hi }`: the inclusive range each date, dateTime, instant, Period or Timing
 * covers (https://hl7.org/fhir/R4/search.html#date). Sorting takes the earliest `lo` ascending
 * and the latest `hi` descending.
 */
export function extractDate(values: TypedValue[]): Extracted {
  const entries: Entry[] = [];
  for (const value of values) {
    const range = rangeOf(value);
    if (range) entries.push({ lo: range.lo, hi: range.hi });
  }
  if (entries.length === 0) return { entries };
  const asc = sortRange(entries.map((e) => e.lo as string))?.asc as string;
  const desc = sortRange(entries.map((e) => e.hi as string))?.desc as string;
  return { entries: unique(entries), sort: { asc, desc } };
}
