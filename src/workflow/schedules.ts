import type { Schedule } from '@medplum/fhirtypes';
import type { StorePort } from '../store/port.js';
import { createRevisionCache, type RevisionCache } from '../store/revision-cache.js';
import { findLive, targetId } from './reads.js';
import type { RuleInput } from './types.js';

/** Practitioners whose schedules are kept per store at most; the least recently booked go first. */
const MAX_KEPT = 10_000;

const caches = new WeakMap<StorePort, RevisionCache<string[]>>();

/**
 * Ids of a practitioner's Schedules (whose busy slots block their time, issue 17), looked up once
 * per revision of Schedule (`store/revision-cache.ts`): `StorePort.revision` changes with every
 * Schedule written, by any FhirGate on the store (a count on MongoDB), so a new or changed Schedule
 * is seen by the next booking. Schedules change rarely; bookings look them up on every write. A transaction that
 * writes Schedules itself looks them up afresh, its staged ones included.
 */
export async function schedulesOf(input: RuleInput, practitioner: string): Promise<string[]> {
  const { deps, request } = input;
  if (!deps.registry.has('Slot') || !deps.registry.has('Schedule')) return [];
  if (request.unit?.ops.some((op) => op.record.resourceType === 'Schedule')) return lookUp(input, practitioner);
  let cache = caches.get(deps.store);
  if (!cache) caches.set(deps.store, (cache = createRevisionCache<string[]>(deps.store, 'Schedule', MAX_KEPT)));
  const view = await cache.view();
  const found = await view.getMany([practitioner], async () => new Map([[practitioner, await lookUp(input, practitioner)]]), []);
  return found.get(practitioner)!;
}

async function lookUp(input: RuleInput, practitioner: string): Promise<string[]> {
  const { deps, request } = input;
  const schedules = await findLive<Schedule>(deps, request, 'Schedule', deps.searchIndex.compileReferenceIn('Schedule', 'actor', [practitioner]));
  // A transaction's staged schedules come whatever their actor (findLive): only this practitioner's count.
  return schedules.filter((s) => (s.actor ?? []).some((actor) => `Practitioner/${targetId(actor, 'Practitioner')}` === practitioner)).map((s) => s.id!);
}
