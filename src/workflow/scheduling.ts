import type { Appointment, Resource, Slot } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Filter, WriteOp } from '../store/port.js';
import { BUSY, HOLDING, HOLDS_KEY, MAX_HOURS, dayOf, heldIn, holds, lookupKeys, practitionersOf, spanOf } from './hold-index.js';
import { viewsOf } from './views.js';
import { decodeHeld, deriveWrite, findCurrent, findLive, liveFrom, readLive, targetId } from './reads.js';
import { schedulesOf } from './schedules.js';
import type { RuleInput } from './types.js';
import { storesUnkeyed, unkeyed, type HolderType } from './unkeyed.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const slotIds = (a: Appointment | undefined): string[] => (holds(a) ? (a.slot ?? []).map((s) => targetId(s, 'Slot')).filter((id): id is string => id !== undefined) : []);

/**
 * Issue 17, item 2: a booked Appointment takes free Slots (made busy in the same commit, so of racing
 * bookings exactly one wins: the other's slot version is stale, it re-checks and finds it busy), and
 * may not overlap another booked Appointment or busy Slot of its practitioners. Cancelling (or
 * deleting) a booked Appointment frees its slots. Patients book only into slots.
 */
export async function bookAppointment(input: RuleInput): Promise<WriteOp[]> {
  const appointment = input.resource as Appointment | undefined;
  const previous = input.previous as Appointment | undefined;
  const now = slotIds(appointment);
  const before = slotIds(previous);
  const derived: WriteOp[] = [];
  for (const id of before.filter((s) => !now.includes(s))) derived.push(...(await setSlot(input, id, 'free')));
  if (!holds(appointment)) return derived;
  if (input.request.context.roles?.includes('patient') && now.length === 0) {
    throw new FhirError('slot-mismatch', 'A patient books an Appointment into a free Slot: give Appointment.slot', { expression: ['Appointment.slot'] });
  }
  const slots: Slot[] = [];
  for (const [index, reference] of (appointment.slot ?? []).entries()) {
    const id = targetId(reference, 'Slot');
    const read = id ? await readLive<Slot>(input.deps, input.request, 'Slot', id) : undefined;
    if (!id || !read) throw new FhirError('slot-not-found', `The slot ${reference.reference ?? '(no reference)'} does not exist on this server`, { expression: [`Appointment.slot[${index}]`] });
    checkWithin(appointment, read.resource, index);
    slots.push(read.resource);
    if (before.includes(id)) continue;
    if (read.resource.status !== 'free') throw new FhirError('slot-unavailable', `Slot/${id} is ${read.resource.status}, not free`, { expression: [`Appointment.slot[${index}]`] });
    derived.push(await deriveWrite(input.deps, input.request, read, 'busy'));
  }
  await checkOverlaps(input, appointment, [...now, ...before]);
  return derived;
}

/**
 * Lock keys of a booking: one per practitioner it holds time of. Two bookings without slots that
 * overlap for one practitioner each check against what is committed; holding the practitioner's key
 * from the check to the commit makes the second see the first (exactly one 201). Lower-case, so
 * these keys sort after the conditional-create keys (`Type?criteria`) a request may already hold.
 */
export function bookingLocks(resource: Resource): string[] {
  const appointment = resource as Appointment;
  // A transaction takes its keys before its entries are validated: anything malformed here is refused later, not here.
  if (!holds(appointment) || !Array.isArray(appointment.participant)) return [];
  return practitionersOf({ ...appointment, participant: appointment.participant.filter((p) => typeof p === 'object' && p !== null) }).map((p) => `booking:${p}`);
}

/** The appointment lies within each slot it books. */
function checkWithin(appointment: Appointment, slot: Slot, index: number): void {
  if (!appointment.start || !appointment.end) return;
  if (Date.parse(appointment.start) < Date.parse(slot.start) || Date.parse(appointment.end) > Date.parse(slot.end)) {
    throw new FhirError('slot-mismatch', `The appointment (${appointment.start} to ${appointment.end}) is not within Slot/${slot.id} (${slot.start} to ${slot.end})`, {
      expression: [`Appointment.slot[${index}]`],
    });
  }
}

/** Sets a slot's status, when it exists and differs. */
async function setSlot(input: RuleInput, id: string, status: Slot['status']): Promise<WriteOp[]> {
  const read = await readLive<Slot>(input.deps, input.request, 'Slot', id);
  if (!read || read.resource.status === status) return [];
  return [await deriveWrite(input.deps, input.request, read, status)];
}

/** Throws when a practitioner of the appointment has another booked appointment or a busy slot (other than its own) overlapping it. */
async function checkOverlaps(input: RuleInput, appointment: Appointment, ownSlots: readonly string[]): Promise<void> {
  const span = spanOf(appointment);
  if (!span) return;
  const overlaps = (other: { start?: string; end?: string }): boolean => {
    const s = spanOf(other);
    return s !== undefined && s[0] < span[1] && s[1] > span[0];
  };
  for (const practitioner of practitionersOf(appointment)) {
    const schedules = await schedulesOf(input, practitioner);
    const found = await bookingsOf(input, [['Appointment', practitioner], ...schedules.map((id): Holder => ['Slot', `Schedule/${id}`])], span);
    const other = found.find((a): a is Appointment => a.resourceType === 'Appointment' && a.id !== input.id && holds(a) && practitionersOf(a).includes(practitioner) && overlaps(a));
    if (other) throw new FhirError('appointment-overlap', `${practitioner} already has Appointment/${other.id} from ${other.start} to ${other.end}`, { expression: ['Appointment.participant'] });
    const busy = found.find(
      (s): s is Slot => s.resourceType === 'Slot' && !ownSlots.includes(s.id!) && BUSY.includes(s.status) && schedules.includes(targetId(s.schedule, 'Schedule') ?? '') && overlaps(s),
    );
    if (busy) throw new FhirError('appointment-overlap', `${practitioner} is ${busy.status} from ${busy.start} to ${busy.end} (Slot/${busy.id})`, { expression: ['Appointment.participant'] });
  }
}

/** A type of booking and who it holds time of: Appointments of a practitioner, Slots of a schedule. */
type Holder = [type: HolderType, holder: string];

/**
 * Bookings of the holders that may overlap `span`: those sharing an hour with it by their hold keys
 * (`hold-index.ts`, one lookup for all), and, while the store holds bookings without keys, those
 * found by the generic search (`unkeyed.ts`). A superset: the caller checks each.
 */
async function bookingsOf(input: RuleInput, holders: readonly Holder[], [start, end]: [number, number]): Promise<Array<Appointment | Slot>> {
  const { deps, request } = input;
  const types = [...new Set(holders.map(([type]) => type))];
  const keys = holders.map(([, holder]) => lookupKeys(holder, start, end));
  if (keys.some((k) => k === undefined)) {
    // A booking longer than the keys are kept for (weeks): the generic search, with the lookback of the longest kept hour by hour.
    const searches = holders.map(([type, holder]) => ({ resourceType: type, ...bySearch(input, type, holder, start - MAX_HOURS * HOUR_MS, end, { [`index.${HOLDS_KEY}`]: `${holder}@*` }) }));
    return findLive(deps, request, types, { $or: searches });
  }
  const wanted = keys.flatMap((k) => k!);
  const load = (missing: string[]) => findCurrent(deps, types, heldIn(missing));
  // From the in-process view of the hold keys when it can vouch for them (hold-view.ts), else from the store.
  const held = await viewsOf(deps.store)?.holds.heldIn(deps.store, wanted, load, dayOf);
  const found = await liveFrom<Appointment | Slot>(deps, request, types, held ?? (await load(wanted)), held ? decodeHeld(deps) : undefined);
  for (const [type, holder] of holders) {
    // Stored without keys: the search of before, assuming (as it did) nothing longer than a day.
    if (await storesUnkeyed(deps, type)) found.push(...(await findLive<Appointment | Slot>(deps, request, type, { $and: [bySearch(input, type, holder, start - DAY_MS, end), unkeyed()] })));
  }
  return found;
}

/** The generic search for `type`s of `holder` holding time and starting in `[earliest, end)`, or matching `also`. */
function bySearch(input: RuleInput, type: HolderType, holder: string, earliest: number, end: number, also?: Filter): Filter {
  const { searchIndex } = input.deps;
  const [reference, status, date] = type === 'Appointment' ? ['practitioner', HOLDING, 'date'] : ['schedule', BUSY, 'start'];
  const filter = {
    $and: [
      searchIndex.compileReferenceIn(type, reference, [holder]),
      searchIndex.compile(type, 'status', undefined, status),
      searchIndex.compile(type, date, undefined, [`lt${new Date(end).toISOString()}`]),
      searchIndex.compile(type, date, undefined, [`ge${new Date(earliest).toISOString()}`]),
    ],
  };
  return also ? { $or: [filter, also] } : filter;
}
