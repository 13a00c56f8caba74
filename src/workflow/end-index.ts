import type { Resource } from '@medplum/fhirtypes';
import type { Filter, WriteOp } from '../store/port.js';

/**
 * The end of an Appointment or Slot, kept in its record's `index` beside its search values (as
 * `dispense-tally.ts` keeps a prescription's total), so the overlap check asks the store only for
 * the earlier bookings that still run at the new one's start instead of reading and decoding every
 * booking of the day around it (issue 17, bench "booking"). R4 has no `end` search parameter for
 * either type. Written with every version of these types while the rules are on (`withEnd`);
 * a version without it (stored before, or with the rules off) is always read and checked as before.
 */
export const END_KEY = 'workflow__end';

/** Types whose records carry their end. */
const TYPES = new Set(['Appointment', 'Slot']);

/** The end as a UTC instant with millisecond precision (ordered as text), or undefined. */
export function endOf(resource: Resource | undefined): string | undefined {
  if (!resource || !TYPES.has(resource.resourceType)) return undefined;
  const end = (resource as { end?: unknown }).end;
  const ms = typeof end === 'string' ? Date.parse(end) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** The write with its resource's end kept in its record's index (unchanged when it has none). */
export function withEnd(op: WriteOp, resource: Resource | undefined): WriteOp {
  const end = endOf(resource);
  if (end === undefined || !op.record.index) return op;
  return { ...op, record: { ...op.record, index: { ...op.record.index, [END_KEY]: end } } };
}

/** Records ending after `instant`, or not carrying their end (those are checked on their resource). */
export function mayEndAfter(instant: number): Filter {
  return { $or: [{ [`index.${END_KEY}`]: { $gt: new Date(instant).toISOString() } }, { [`index.${END_KEY}`]: { $exists: false } }] };
}
