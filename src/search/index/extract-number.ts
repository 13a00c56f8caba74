import { sortRange, unique, type Entry, type Extracted } from './extracted.js';
import { NUMBER_MAX, NUMBER_MIN } from './fields.js';
import { asObject, str, type TypedValue } from './node.js';
import { numberRange } from './number-range.js';

/** `{ v, lo, hi }` of a number as stored; JSON has already dropped trailing zeros, so `1.50` counts as `1.5`. */
function numberEntry(n: unknown): Entry | undefined {
  if (typeof n !== 'number' || !Number.isFinite(n)) return undefined;
  const range = numberRange(String(n));
  return range ? { v: range.value, lo: range.lo, hi: range.hi } : { v: n, lo: n, hi: n };
}

/** A Quantity's comparator opens its range on one side (`<5 mg` is anything up to 5 mg). */
function quantityEntry(quantity: Record<string, unknown>): Entry | undefined {
  const e = numberEntry(quantity.value);
  if (!e) return undefined;
  const comparator = str(quantity, 'comparator');
  if (comparator === '<' || comparator === '<=') e.lo = NUMBER_MIN;
  if (comparator === '>' || comparator === '>=') e.hi = NUMBER_MAX;
  for (const [from, to] of [['system', 's'], ['code', 'c'], ['unit', 'u']] as const) {
    const v = str(quantity, from);
    if (v !== undefined) e[to] = v;
  }
  return e;
}

/** A Range covers low to high; a missing side is open. Units come from whichever side has them. */
function rangeEntry(range: Record<string, unknown>): Entry | undefined {
  const low = asObject(range.low);
  const high = asObject(range.high);
  const lo = low ? quantityEntry(low) : undefined;
  const hi = high ? quantityEntry(high) : undefined;
  if (!lo && !hi) return undefined;
  const e: Entry = { ...(hi ?? {}), ...(lo ?? {}) };
  e.lo = lo ? lo.lo : NUMBER_MIN;
  e.hi = hi ? hi.hi : NUMBER_MAX;
  return e;
}

function entryOf(value: TypedValue): Entry | undefined {
  if (typeof value.value === 'number') return numberEntry(value.value);
  const element = asObject(value.value);
  if (!element) return undefined;
  if (value.type === 'Range') return rangeEntry(element);
  return quantityEntry(element); // Quantity and its profiles (Age, Duration, SimpleQuantity, Money-like)
}

/**
 * Number and quantity entries: the value `v`, the implicit range `[lo, hi)` of its precision
 * (https://hl7.org/fhir/R4/search.html#number), and for quantities system `s`, code `c` and
 * unit `u`. Units are not converted: `5 g` does not match `5000 mg` (UCUM canonicalization is
 * not implemented).
 */
export function extractNumber(values: TypedValue[]): Extracted {
  const entries = unique(values.map(entryOf).filter((e): e is Entry => e !== undefined));
  return { entries, sort: sortRange(entries.map((e) => e.v as number)) };
}
