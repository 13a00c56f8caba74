import type { MedicationDispense, MedicationRequest } from '@medplum/fhirtypes';
import type { StoredRecord, WriteOp } from '../store/port.js';
import { addQuantities, toDays } from './quantities.js';
import { findLive, targetId, type Read } from './reads.js';
import type { RuleInput } from './types.js';

/**
 * The running total of a prescription's counted dispenses (issue 17): how many fills, how much
 * quantity (in the unit of `dispenseRequest.quantity`) and how many days of supply they used.
 *
 * Kept in the `index` of the prescription's stored record, beside its search values, by the
 * version every counted dispense writes anyway (that version is the lock racing dispenses conflict
 * on). So checking a dispense costs the same on the 1st fill as on the 100th: no earlier dispense is
 * read. Any other write of the prescription (a client's PUT or PATCH, the HL7 feed) re-extracts the
 * index and so drops the total; the next dispense counts once (`recount`) and keeps it again. The
 * total is relative to the prescription's content of that version, whose unit it sums in.
 */
export interface Tally {
  fills: number;
  /** Sum of the dispensed quantities; absent when one is in another unit than the prescription's (no conversion is guessed). */
  quantity?: number;
  days: number;
}

/** The field of `record.index` holding the total: no search parameter has this code (`__` is never in one). */
export const TALLY_KEY = 'workflow__dispensed';

/**
 * Keys of `record.index` nothing searches, by type: the embedded store keeps them in the record,
 * out of its search-value table (src/store/embedded/unindexed.ts), so a dispense's new version of
 * its prescription changes no value rows for its total (issue 17).
 */
export const UNSEARCHED_KEYS: Readonly<Record<string, readonly string[]>> = { MedicationRequest: [TALLY_KEY] };

/** Dispense statuses that use up a fill (medicationdispense.html#status); the others (preparation, on-hold, cancelled, ...) do not. */
const COUNTED = new Set(['completed', 'in-progress']);

/** Whether the dispense's status uses up a fill. */
export function usesFill(dispense: MedicationDispense): boolean {
  return COUNTED.has(dispense.status);
}

/** Whether the dispense uses up a fill of the prescription. */
export function counts(dispense: MedicationDispense | undefined, prescriptionId: string): boolean {
  return dispense !== undefined && COUNTED.has(dispense.status) && (dispense.authorizingPrescription ?? []).some((r) => targetId(r, 'MedicationRequest') === prescriptionId);
}

/** Ids of the prescriptions the dispense uses a fill of. */
export function countedAgainst(dispense: MedicationDispense | undefined): string[] {
  if (dispense === undefined || !COUNTED.has(dispense.status)) return [];
  return (dispense.authorizingPrescription ?? []).map((r) => targetId(r, 'MedicationRequest')).filter((id): id is string => id !== undefined);
}

/** What one dispense adds to its prescription's total. */
export function contribution(dispense: MedicationDispense, prescription: MedicationRequest): Tally {
  const quantity = addQuantities([dispense.quantity], prescription.dispenseRequest?.quantity ?? {});
  return { fills: 1, ...(quantity === undefined ? {} : { quantity }), days: toDays(dispense.daysSupply) ?? 0 };
}

/** `a + sign × b`; the quantity stays absent once either side has none. */
export function combine(a: Tally, b: Tally, sign: 1 | -1 = 1): Tally {
  const quantity = a.quantity !== undefined && b.quantity !== undefined ? a.quantity + sign * b.quantity : undefined;
  return { fills: a.fills + sign * b.fills, ...(quantity === undefined ? {} : { quantity }), days: a.days + sign * b.days };
}

/** The total kept in a prescription's record, or undefined when it has none (or not in this shape). */
export function keptTally(record: StoredRecord): Tally | undefined {
  const kept = record.index?.[TALLY_KEY] as Partial<Tally> | undefined;
  if (typeof kept?.fills !== 'number' || typeof kept.days !== 'number') return undefined;
  if (kept.quantity !== undefined && typeof kept.quantity !== 'number') return undefined;
  return { fills: kept.fills, ...(kept.quantity === undefined ? {} : { quantity: kept.quantity }), days: kept.days };
}

/** The derived write of the prescription, keeping `tally` as its total. */
export function withTally(op: WriteOp, tally: Tally): WriteOp {
  return { ...op, record: { ...op.record, index: { ...op.record.index, [TALLY_KEY]: tally } } };
}

/**
 * The total of the prescription's counted dispenses other than the one being written: the kept
 * total less what the written dispense's live version (`previous`, when it counted) added, else
 * counted once from the dispenses themselves.
 */
export async function othersTally(input: RuleInput, read: Read<MedicationRequest>, previous: MedicationDispense | undefined): Promise<Tally> {
  const kept = keptTally(read.record);
  if (kept) {
    const others = previous && counts(previous, read.record.id) ? combine(kept, contribution(previous, read.resource), -1) : kept;
    // Never below zero: a total that disagrees with itself is not trusted.
    if (others.fills >= 0 && others.days >= -1e-9 && (others.quantity ?? 0) >= -1e-9) return others;
  }
  return recount(input, read);
}

/** Counts the prescription's live counted dispenses other than `input.id` (the transaction's staged ones included). */
async function recount(input: RuleInput, read: Read<MedicationRequest>): Promise<Tally> {
  const { deps, request } = input;
  const id = read.record.id;
  const filter = deps.searchIndex.compileReferenceIn('MedicationDispense', 'prescription', [`MedicationRequest/${id}`]);
  const others = (await findLive<MedicationDispense>(deps, request, 'MedicationDispense', filter)).filter((d) => d.id !== input.id && counts(d, id));
  return others.reduce<Tally>((sum, d) => combine(sum, contribution(d, read.resource)), { fills: 0, quantity: 0, days: 0 });
}
