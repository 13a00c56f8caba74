import type { Duration, Quantity } from '@medplum/fhirtypes';

/** Days per UCUM time unit (datatypes.html#Duration); months and years as a pharmacy counts them. */
const DAYS: Readonly<Record<string, number>> = { d: 1, day: 1, days: 1, wk: 7, week: 1 * 7, weeks: 7, mo: 30, month: 30, months: 30, a: 365, year: 365, years: 365, h: 1 / 24, hour: 1 / 24, hours: 1 / 24 };

/** A duration in days, or undefined when absent or in a unit that is not a time. A quantity without unit counts as days. */
export function toDays(duration: Duration | Quantity | undefined): number | undefined {
  if (duration?.value === undefined) return undefined;
  const unit = duration.code ?? duration.unit;
  if (unit === undefined) return duration.value;
  const factor = DAYS[unit.toLowerCase()];
  return factor === undefined ? undefined : duration.value * factor;
}

const unitOf = (q: Quantity): string | undefined => q.code ?? q.unit;

/** Sum of quantities in the reference's unit; undefined when one has a different unit (no conversion is guessed). */
export function addQuantities(quantities: ReadonlyArray<Quantity | undefined>, reference: Quantity): number | undefined {
  let total = 0;
  for (const q of quantities) {
    if (q?.value === undefined) continue;
    const unit = unitOf(q);
    if (unit !== undefined && unitOf(reference) !== undefined && unit !== unitOf(reference)) return undefined;
    total += q.value;
  }
  return total;
}

/** `total <= limit`, tolerant of binary rounding of decimal quantities (0.1 + 0.2). */
export function withinLimit(total: number, limit: number): boolean {
  return total <= limit + 1e-9;
}
