import type { Filter } from '../../store/port.js';
import { dateRange, type DateRange } from './date-range.js';
import { allOf, anyOf, cond } from './filter.js';
import { badValue, splitPrefix, type Prefix } from './prefix.js';

/** Field names holding a stored range's bounds: `lo`/`hi` inside an entry, or one field for both (`lastUpdated`). */
export interface RangeFields {
  lo: string;
  hi: string;
}

const DAY = 86_400_000;

/**
 * The `ap` window: the search range widened on both sides by 10% of the distance between now
 * and the searched date, the spec's recommendation (https://hl7.org/fhir/R4/search.html#prefix),
 * and by at least one day, so that `ap` on a recent date is not narrower than `eq`.
 */
function approximately(search: DateRange, now: number): DateRange {
  const lo = Date.parse(search.lo);
  const hi = Date.parse(search.hi);
  const gap = Math.max(Math.abs(now - lo), Math.abs(now - hi));
  const margin = Math.max(gap / 10, DAY);
  return { lo: toIso(lo - margin), hi: toIso(hi + margin) };
}

function toIso(ms: number): string {
  const min = Date.parse('0001-01-01T00:00:00.000Z');
  const max = Date.parse('9999-12-31T23:59:59.999Z');
  return new Date(Math.min(Math.max(ms, min), max)).toISOString();
}

/**
 * A predicate over a stored range [lo, hi] for one prefix and search range [sLo, sHi], read
 * straight from the R4 prefix table (https://hl7.org/fhir/R4/search.html#prefix):
 * eq: the search range contains the target; ne: it does not; gt/lt: the range above/below the
 * search value overlaps the target; ge/le: gt/lt or eq; sa/eb: the target starts after / ends
 * before the search range; ap: the target overlaps the widened search range.
 */
export function rangePredicate(prefix: Prefix, search: DateRange, f: RangeFields, now: number): Filter {
  const contained = allOf([cond(f.lo, '$gte', search.lo), cond(f.hi, '$lte', search.hi)]);
  switch (prefix) {
    case 'eq':
      return contained;
    case 'ne':
      return anyOf([cond(f.lo, '$lt', search.lo), cond(f.hi, '$gt', search.hi)]);
    case 'gt':
      return cond(f.hi, '$gt', search.hi);
    case 'lt':
      return cond(f.lo, '$lt', search.lo);
    // gt or eq, written as one condition per bound: with lo >= sLo, either hi <= sHi (eq) or hi > sHi
    // (gt), so `hi > sHi or (lo >= sLo and hi <= sHi)` is `hi > sHi or lo >= sLo` for every stored
    // range (both bounds are always written, extract-date.ts), and each side is a single condition
    // a store answers from its index (filter.ts someEntry; issue 13). le likewise.
    // A point (one field for both bounds, `lastUpdated`) is then simply at or after sLo / at or before sHi.
    case 'ge':
      return f.lo === f.hi ? cond(f.lo, '$gte', search.lo) : anyOf([cond(f.hi, '$gt', search.hi), cond(f.lo, '$gte', search.lo)]);
    case 'le':
      return f.lo === f.hi ? cond(f.hi, '$lte', search.hi) : anyOf([cond(f.lo, '$lt', search.lo), cond(f.hi, '$lte', search.hi)]);
    case 'sa':
      return cond(f.lo, '$gt', search.hi);
    case 'eb':
      return cond(f.hi, '$lt', search.lo);
    case 'ap': {
      const window = approximately(search, now);
      return allOf([cond(f.lo, '$lte', window.hi), cond(f.hi, '$gte', window.lo)]);
    }
  }
}

/** The predicate of one date search value (`[prefix]date`). */
export function datePredicate(code: string, value: string, fields: RangeFields, now: number): Filter {
  const { prefix, rest } = splitPrefix(value);
  const search = dateRange(rest);
  if (!search) {
    const expected = 'a date such as 2024, 2024-03, 2024-03-01 or 2024-03-01T10:00:00Z, with an optional prefix (eq, ne, gt, lt, ge, le, sa, eb, ap)';
    throw badValue(code, value, expected);
  }
  return rangePredicate(prefix, search, fields, now);
}
