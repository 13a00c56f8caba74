import type { Schedule } from '@medplum/fhirtypes';
import { revisionOf } from '../store/port.js';
import { findLive, targetId } from './reads.js';
import type { RuleInput } from './types.js';

/** Practitioners whose schedules are kept per store at most; past it, the list starts over. */
const MAX_KEPT = 10_000;

const kept = new WeakMap<object, { revision: number; byPractitioner: Map<string, string[]> }>();

/**
 * Ids of a practitioner's Schedules (whose busy slots block their time, issue 17), looked up once
 * per revision of Schedule: `StorePort.revision` changes with every Schedule written, by any
 * FhirGate on the store (a count on MongoDB), so a new or changed Schedule is seen by the next
 * booking. Schedules change rarely; bookings look them up on every write. A transaction that
 * writes Schedules itself looks them up afresh, its staged ones included.
 */
export async function schedulesOf(input: RuleInput, practitioner: string): Promise<string[]> {
  const { deps, request } = input;
  if (!deps.registry.has('Slot') || !deps.registry.has('Schedule')) return [];
  if (request.unit?.ops.some((op) => op.record.resourceType === 'Schedule')) return lookUp(input, practitioner);
  const revision = await revisionOf(deps.store, 'Schedule');
  let entry = kept.get(deps.store);
  if (!entry || entry.revision !== revision || entry.byPractitioner.size >= MAX_KEPT) kept.set(deps.store, (entry = { revision, byPractitioner: new Map() }));
  let ids = entry.byPractitioner.get(practitioner);
  if (!ids) entry.byPractitioner.set(practitioner, (ids = await lookUp(input, practitioner)));
  return ids;
}

async function lookUp(input: RuleInput, practitioner: string): Promise<string[]> {
  const { deps, request } = input;
  const schedules = await findLive<Schedule>(deps, request, 'Schedule', deps.searchIndex.compileReferenceIn('Schedule', 'actor', [practitioner]));
  // A transaction's staged schedules come whatever their actor (findLive): only this practitioner's count.
  return schedules.filter((s) => (s.actor ?? []).some((actor) => `Practitioner/${targetId(actor, 'Practitioner')}` === practitioner)).map((s) => s.id!);
}
