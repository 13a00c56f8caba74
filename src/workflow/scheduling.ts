import type { Appointment, Reference, Resource, Schedule, Slot } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { WriteOp } from '../store/port.js';
import { mayEndAfter } from './end-index.js';
import { deriveWrite, findLive, readLive, targetId } from './reads.js';
import type { RuleInput } from './types.js';

/** Appointment statuses that hold their time and slots (appointment.html#status); proposed, pending, cancelled, ... do not. */
const HOLDING = ['booked', 'arrived', 'checked-in'];

/** Slot statuses that block a practitioner's time (valueset-slotstatus.html). */
const BUSY = ['busy', 'busy-unavailable'];

/** Longest appointment the overlap search looks back for: an appointment starting earlier than this before another cannot reach it. */
const MAX_APPOINTMENT_MS = 24 * 60 * 60 * 1000;

const holds = (a: Appointment | undefined): a is Appointment => a !== undefined && HOLDING.includes(a.status);
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
  if (!appointment.start || !appointment.end) return;
  const { deps, request } = input;
  const start = Date.parse(appointment.start);
  const end = Date.parse(appointment.end);
  const overlaps = (s: string | undefined, e: string | undefined): boolean => s !== undefined && e !== undefined && Date.parse(s) < end && Date.parse(e) > start;
  const earliest = new Date(start - MAX_APPOINTMENT_MS).toISOString();
  for (const practitioner of practitionersOf(appointment)) {
    const filter = {
      $and: [
        deps.searchIndex.compileReferenceIn('Appointment', 'practitioner', [practitioner]),
        deps.searchIndex.compile('Appointment', 'status', undefined, HOLDING),
        deps.searchIndex.compile('Appointment', 'date', undefined, [`lt${appointment.end}`]),
        deps.searchIndex.compile('Appointment', 'date', undefined, [`ge${earliest}`]),
        mayEndAfter(start),
      ],
    };
    const other = (await findLive<Appointment>(deps, request, 'Appointment', filter)).find(
      (a) => a.id !== input.id && holds(a) && practitionersOf(a).includes(practitioner) && overlaps(a.start, a.end),
    );
    if (other) throw new FhirError('appointment-overlap', `${practitioner} already has Appointment/${other.id} from ${other.start} to ${other.end}`, { expression: ['Appointment.participant'] });
    const busy = (await busySlotsOf(input, practitioner, earliest, appointment.end, start)).find((s) => !ownSlots.includes(s.id!) && overlaps(s.start, s.end));
    if (busy) throw new FhirError('appointment-overlap', `${practitioner} is ${busy.status} from ${busy.start} to ${busy.end} (Slot/${busy.id})`, { expression: ['Appointment.participant'] });
  }
}

/** `Practitioner/id` of the participants who take part (not declined). */
function practitionersOf(appointment: Appointment): string[] {
  return (appointment.participant ?? [])
    .filter((p) => p.status !== 'declined')
    .map((p) => targetId(p.actor as Reference, 'Practitioner'))
    .filter((id): id is string => id !== undefined)
    .map((id) => `Practitioner/${id}`);
}

/**
 * Busy slots of the practitioner's schedules starting from `earliest` and before `end`, that may end after `after`. Slot has no
 * `end` search parameter; a slot is assumed shorter than an appointment may be (24 hours), so the
 * lower bound keeps the search to the day around the booking instead of every slot ever taken.
 */
async function busySlotsOf(input: RuleInput, practitioner: string, earliest: string, end: string, after: number): Promise<Slot[]> {
  const { deps, request } = input;
  if (!deps.registry.has('Slot') || !deps.registry.has('Schedule')) return [];
  const schedules = await findLive<Schedule>(deps, request, 'Schedule', deps.searchIndex.compileReferenceIn('Schedule', 'actor', [practitioner]));
  if (schedules.length === 0) return [];
  const filter = {
    $and: [
      deps.searchIndex.compileReferenceIn('Slot', 'schedule', schedules.map((s) => `Schedule/${s.id}`)),
      deps.searchIndex.compile('Slot', 'status', undefined, BUSY),
      deps.searchIndex.compile('Slot', 'start', undefined, [`lt${end}`]),
      deps.searchIndex.compile('Slot', 'start', undefined, [`ge${earliest}`]),
      mayEndAfter(after),
    ],
  };
  return findLive<Slot>(deps, request, 'Slot', filter);
}
