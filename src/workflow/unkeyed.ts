import type { PipelineDeps } from '../fhir/pipeline.js';
import type { Filter } from '../store/port.js';
import { BUSY, HOLDING, HOLDS_KEY } from './hold-index.js';

/**
 * Bookings stored without their hold keys (`hold-index.ts`): written before the rules kept them,
 * or while FHIR_WORKFLOW_RULES=false. The overlap check must still see them, by the generic search
 * it used before (by practitioner or schedule, status and date). That search costs what the keys
 * save, so it runs only while the store holds such a booking: asked once per store and type (every
 * version written while the rules are on carries its keys, key rotation keeps them) and, while some
 * are left, asked again every minute, so that once they are edited or cancelled the search stops.
 * FhirGates sharing one MongoDB should all run with the same FHIR_WORKFLOW_RULES.
 */
const RECHECK_MS = 60_000;

/** Types whose records hold time, with the statuses that do. */
const HOLDER_STATUSES = { Appointment: HOLDING, Slot: BUSY } as const;
export type HolderType = keyof typeof HOLDER_STATUSES;

interface Check {
  at: number;
  present: Promise<boolean>;
  /** Settled: none was left, and versions written since all carry their keys. */
  none?: true;
}

const checks = new WeakMap<object, Map<HolderType, Check>>();

/** Whether the store holds a live `type` that holds time but carries no hold keys. */
export function storesUnkeyed(deps: PipelineDeps, type: HolderType): Promise<boolean> {
  let byType = checks.get(deps.store);
  if (!byType) checks.set(deps.store, (byType = new Map()));
  const now = deps.clock().getTime();
  const known = byType.get(type);
  if (known && (known.none || now - known.at < RECHECK_MS)) return known.present;
  const filter = { resourceType: type, deleted: false, $and: [deps.searchIndex.compile(type, 'status', undefined, [...HOLDER_STATUSES[type]]), unkeyed()] };
  const check: Check = { at: now, present: Promise.resolve(true) };
  check.present = deps.store.count('current', filter).then(
    (n) => {
      if (n === 0) check.none = true;
      return n > 0;
    },
    (err: unknown) => {
      // Asked again by the next booking (this one fails with the store's error).
      byType.delete(type);
      throw err;
    },
  );
  byType.set(type, check);
  return check.present;
}

/** Records without hold keys. */
export function unkeyed(): Filter {
  return { [`index.${HOLDS_KEY}`]: { $exists: false } };
}
