import type { MedicationDispense, MedicationRequest, Reference } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { WriteOp } from '../store/port.js';
import { combine, contribution, countedAgainst, counts, othersTally, usesFill, withTally, type Tally } from './dispense-tally.js';
import { sameMedication } from './medication.js';
import { toDays, withinLimit } from './quantities.js';
import { deriveWrite, readLive, targetId, type Read } from './reads.js';
import type { RuleInput } from './types.js';

/**
 * Issue 17, item 1: a MedicationDispense that uses up a fill needs an active prescription for the
 * same patient and medication with fills and quantity left (1 + numberOfRepeatsAllowed fills of
 * dispenseRequest.quantity, within expectedSupplyDuration and validityPeriod). Every such dispense
 * writes a new version of its prescription, `completed` with the last fill and carrying the running
 * total of what was dispensed (`dispense-tally.ts`): that version is the precondition that makes
 * racing dispenses conflict and re-check instead of over-dispensing. A dispense that stops counting
 * (cancelled, entered-in-error, deleted, moved to another prescription) gives its fill back.
 */
export async function dispenseWithinPrescription(input: RuleInput): Promise<WriteOp[]> {
  const dispense = input.resource as MedicationDispense | undefined;
  const previous = input.previous as MedicationDispense | undefined;
  const now = countedAgainst(dispense);
  const derived: WriteOp[] = [];
  for (const id of countedAgainst(previous).filter((p) => !now.includes(p))) derived.push(...(await giveBack(input, id, previous)));
  if (dispense === undefined || !usesFill(dispense)) return derived;
  const prescriptions = dispense.authorizingPrescription ?? [];
  if (prescriptions.length === 0) {
    throw new FhirError('prescription-not-found', `A ${dispense.status} MedicationDispense needs an authorizingPrescription`, { expression: ['MedicationDispense.authorizingPrescription'] });
  }
  for (const [index, reference] of prescriptions.entries()) derived.push(await checkPrescription(input, dispense, reference, index));
  return derived;
}

async function checkPrescription(input: RuleInput, dispense: MedicationDispense, reference: Reference, index: number): Promise<WriteOp> {
  const { deps, request } = input;
  const where = [`MedicationDispense.authorizingPrescription[${index}]`];
  const id = targetId(reference, 'MedicationRequest');
  const read = id ? await readLive<MedicationRequest>(deps, request, 'MedicationRequest', id) : undefined;
  if (!id || !read) throw new FhirError('prescription-not-found', `The prescription ${reference.reference ?? '(no reference)'} does not exist on this server`, { expression: where });
  const prescription = read.resource;
  const previous = input.previous as MedicationDispense | undefined;
  // A correction of a dispense already counted against this prescription does not take a new fill.
  const already = counts(previous, id);
  if (!already && prescription.status !== 'active') {
    throw new FhirError('prescription-not-active', `MedicationRequest/${id} is ${prescription.status}; only an active prescription can be dispensed`, { expression: where });
  }
  if (targetId(dispense.subject, 'Patient') !== targetId(prescription.subject, 'Patient')) {
    throw new FhirError('prescription-mismatch', `The dispense's subject is not the patient of MedicationRequest/${id}`, { expression: ['MedicationDispense.subject'] });
  }
  if (!(await sameMedication(deps, request, dispense, prescription))) {
    throw new FhirError('prescription-mismatch', `The dispensed medication is not the one MedicationRequest/${id} prescribes`, { expression: ['MedicationDispense.medication'] });
  }
  checkValidity(dispense, prescription, id, deps.clock());
  const others = await othersTally(input, read, previous);
  const fills = 1 + (prescription.dispenseRequest?.numberOfRepeatsAllowed ?? 0);
  if (!already && others.fills >= fills) {
    throw new FhirError('prescription-exhausted', `MedicationRequest/${id} allows ${fills} fill(s); all have been dispensed`, { expression: where });
  }
  const total = combine(others, contribution(dispense, prescription));
  const exhausted = checkAmounts(dispense, prescription, total, fills, id);
  return completeOrTouch(input, read, total, total.fills >= fills || exhausted);
}

/** A dispense that no longer counts against the prescription: its new version keeps the total without it. */
async function giveBack(input: RuleInput, id: string, previous: MedicationDispense | undefined): Promise<WriteOp[]> {
  const read = await readLive<MedicationRequest>(input.deps, input.request, 'MedicationRequest', id);
  if (!read) return [];
  return [withTally(await deriveWrite(input.deps, input.request, read), await othersTally(input, read, previous))];
}

/** Throws when the dispense falls outside dispenseRequest.validityPeriod (handed over, else prepared, else now). */
function checkValidity(dispense: MedicationDispense, prescription: MedicationRequest, id: string, now: Date): void {
  const period = prescription.dispenseRequest?.validityPeriod;
  if (!period) return;
  const when = Date.parse(dispense.whenHandedOver ?? dispense.whenPrepared ?? now.toISOString());
  const start = period.start ? Date.parse(period.start) : -Infinity;
  // A date-only end covers that whole day.
  const end = period.end ? Date.parse(period.end.length === 10 ? `${period.end}T23:59:59.999Z` : period.end) : Infinity;
  if (when < start || when > end) {
    throw new FhirError('prescription-expired', `The dispense is outside the validity period of MedicationRequest/${id}`, { expression: ['MedicationDispense.whenHandedOver'] });
  }
}

/**
 * Throws when the total dispensed quantity or days' supply, this dispense included, would exceed
 * what the prescription allows (per fill × fills); returns whether the quantity limit is reached.
 */
function checkAmounts(dispense: MedicationDispense, prescription: MedicationRequest, total: Tally, fills: number, id: string): boolean {
  const perFill = prescription.dispenseRequest?.quantity;
  let reached = false;
  if (perFill?.value !== undefined && dispense.quantity?.value !== undefined) {
    if (total.quantity === undefined) throw new FhirError('prescription-mismatch', `The dispensed quantity's unit differs from MedicationRequest/${id}'s`, { expression: ['MedicationDispense.quantity'] });
    const limit = perFill.value * fills;
    if (!withinLimit(total.quantity, limit)) {
      throw new FhirError('prescription-exhausted', `Dispensing ${dispense.quantity.value} would make ${total.quantity} of MedicationRequest/${id}'s ${limit} ${perFill.unit ?? perFill.code ?? ''}`.trim(), {
        expression: ['MedicationDispense.quantity'],
      });
    }
    reached = total.quantity >= limit - 1e-9;
  }
  const duration = toDays(prescription.dispenseRequest?.expectedSupplyDuration);
  const days = toDays(dispense.daysSupply);
  if (duration !== undefined && days !== undefined && !withinLimit(total.days, duration * fills)) {
    throw new FhirError('prescription-exhausted', `A supply of ${days} day(s) would make ${total.days} of MedicationRequest/${id}'s ${duration * fills}`, { expression: ['MedicationDispense.daysSupply'] });
  }
  return reached;
}

/** The prescription's new version with its new total: completed when this is its last fill, else unchanged (the version is the lock). */
async function completeOrTouch(input: RuleInput, read: Read<MedicationRequest>, total: Tally, last: boolean): Promise<WriteOp> {
  return withTally(await deriveWrite(input.deps, input.request, read, last ? 'completed' : undefined), total);
}
