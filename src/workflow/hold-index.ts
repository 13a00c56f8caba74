import type { Appointment, Reference, Resource, Slot } from '@medplum/fhirtypes';
import type { Filter, StoredRecord, WriteOp } from '../store/port.js';
import { targetId } from './references.js';

/**
 * What a booked Appointment or a Slot holds, kept in its record's `index` beside its search values
 * (as `dispense-tally.ts` keeps a prescription's total): one key per holder and hour it touches,
 * `Practitioner/d1@2030-01-01T09` for an appointment's practitioners, `Schedule/s1@…` for a slot's
 * schedule. The overlap check (issue 17, bench "booking") asks the store for the keys of the hours of
 * the new booking: one lookup in one index, which finds exactly the bookings sharing an hour with it,
 * whatever their length, instead of searching by practitioner, status and date (three indexes, each
 * weighed by the store) and reading every booking of the day around it.
 *
 * A Slot keeps its schedule's hours whatever its status (the check reads the status of what it
 * finds): a booking turning it busy then changes none of its keys (a value row fewer to write), and a
 * day's free slots load with the busy ones, so the rules' view of them (`hold-view.ts`) answers the
 * booking's read of its slot. Slots stored when only busy ones kept keys are read from the store.
 *
 * Written with every version of these types while the rules are on (an empty list when it holds
 * nothing), so a version without the key was stored otherwise (before, or with the rules off): see
 * `unkeyed.ts`. The keys name no patient: a practitioner's busy hours and their slots' hours, which
 * their Slots show anyway.
 */
export const HOLDS_KEY = 'workflow__holds';

/** Appointment statuses that hold their time and slots (appointment.html#status); proposed, pending, cancelled, ... do not. */
export const HOLDING = ['booked', 'arrived', 'checked-in'];

/** Slot statuses that block a practitioner's time (valueset-slotstatus.html). */
export const BUSY = ['busy', 'busy-unavailable'];

const HOUR_MS = 3_600_000;

/** Longest span kept hour by hour (31 days, 744 keys); a longer one is kept as `holder@*`, which every lookup includes. */
export const MAX_HOURS = 31 * 24;

/** Whether the appointment holds its practitioners' time. */
export const holds = (a: Appointment | undefined): a is Appointment => a !== undefined && HOLDING.includes(a.status);

/** `Practitioner/id` of the participants who take part (not declined). */
export function practitionersOf(appointment: Appointment): string[] {
  return (appointment.participant ?? [])
    .filter((p) => p.status !== 'declined')
    .map((p) => targetId(p.actor as Reference, 'Practitioner'))
    .filter((id): id is string => id !== undefined)
    .map((id) => `Practitioner/${id}`);
}

/**
 * The hours `[start, end)` touches (a zero-length span: its instant's hour), as `holder@YYYY-MM-DDTHH`
 * in UTC; undefined past MAX_HOURS. Two spans that overlap (one starts before the other ends, and ends
 * after it starts) share the hour of the later start, so they share a key.
 */
export function hourKeys(holder: string, start: number, end: number): string[] | undefined {
  const first = Math.floor(start / HOUR_MS);
  const last = Math.floor(Math.max(start, end - 1) / HOUR_MS);
  if (last - first + 1 > MAX_HOURS) return undefined;
  const keys: string[] = [];
  for (let hour = first; hour <= last; hour++) keys.push(`${holder}@${new Date(hour * HOUR_MS).toISOString().slice(0, 13)}`);
  return keys;
}

/** The span of a resource's `start` and `end`, in ms; undefined when either is missing or not a date (such a booking overlaps nothing). */
export function spanOf(resource: { start?: string; end?: string }): [number, number] | undefined {
  const start = resource.start === undefined ? NaN : Date.parse(resource.start);
  const end = resource.end === undefined ? NaN : Date.parse(resource.end);
  return Number.isFinite(start) && Number.isFinite(end) ? [start, end] : undefined;
}

/** What the resource holds (see HOLDS_KEY), or undefined for a type that holds nothing. */
export function holdKeysOf(resource: Resource | undefined): string[] | undefined {
  if (resource?.resourceType === 'Appointment') return keysOf(holds(resource) ? practitionersOf(resource) : [], resource);
  if (resource?.resourceType === 'Slot') {
    const schedule = targetId(resource.schedule, 'Schedule');
    return keysOf(schedule ? [`Schedule/${schedule}`] : [], resource);
  }
  return undefined;
}

function keysOf(holders: readonly string[], resource: Appointment | Slot): string[] {
  const span = spanOf(resource);
  if (!span) return [];
  return [...new Set(holders.flatMap((holder) => hourKeys(holder, span[0], span[1]) ?? [`${holder}@*`]))];
}

/** The write with what its resource holds kept in its record's index (unchanged for other types). */
export function withHolds(op: WriteOp, resource: Resource | undefined): WriteOp {
  const keys = holdKeysOf(resource);
  if (keys === undefined || !op.record.index) return op;
  return { ...op, record: { ...op.record, index: { ...op.record.index, [HOLDS_KEY]: keys } } };
}

/** Whether two records keep the same hold keys (both none included). */
export function sameHolds(a: StoredRecord, b: StoredRecord): boolean {
  return JSON.stringify(a.index?.[HOLDS_KEY]) === JSON.stringify(b.index?.[HOLDS_KEY]);
}

/** The keys a booking of `[start, end)` looks up for `holder`: its hours', and `holder@*`; undefined when the span is longer than MAX_HOURS. */
export function lookupKeys(holder: string, start: number, end: number): string[] | undefined {
  const keys = hourKeys(holder, start, end);
  return keys && [...keys, `${holder}@*`];
}

/** Records holding any of `keys`: one lookup in one index. */
export function heldIn(keys: readonly string[]): Filter {
  return { [`index.${HOLDS_KEY}`]: { $in: [...keys] } };
}

/** The hour keys of the day of `key` (`holder@YYYY-MM-DDTHH`), the key itself for any other: what a booking's neighbours look up. */
export function dayOf(key: string): string[] {
  const at = key.lastIndexOf('@');
  const hour = key.slice(at + 1);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}$/.test(hour)) return [key];
  const day = `${key.slice(0, at + 1)}${hour.slice(0, 11)}`;
  return Array.from({ length: 24 }, (_, h) => `${day}${String(h).padStart(2, '0')}`);
}
