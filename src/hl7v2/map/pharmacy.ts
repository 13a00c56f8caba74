import type { MedicationDispense, MedicationRequest, Reference } from '@medplum/fhirtypes';
import type { V2Message } from '../message.js';
import { identifierQuery, TransactionBuilder } from './bundle.js';
import type { MapContext } from './context.js';
import { codeableConcept, compact, dateTime, mappedConcept, quantity } from './datatypes.js';
import { medicationRequest, orderGroups, orderIdentifiers, type OrderGroup } from './medication-request.js';
import { upsertPatient } from './patient.js';
import { practitionerFromXcn } from './practitioner.js';
import { HL7_ERROR, MappingError, type Lookup, type MessageMapper } from './types.js';

async function subjectOf(message: V2Message, ctx: MapContext, tx: TransactionBuilder, lookup: Lookup): Promise<Reference | undefined> {
  const pid = message.first('PID');
  return pid ? (await upsertPatient(message, pid, ctx, tx, lookup)).reference : undefined;
}

function requireGroups(message: V2Message): OrderGroup[] {
  const groups = orderGroups(message);
  if (!groups.length) throw new MappingError(`${message.messageCode}^${message.triggerEvent} needs at least one ORC segment`, HL7_ERROR.segmentSequence, { segment: 'ORC' });
  return groups;
}

/**
 * Upserts the order's MedicationRequest by its placer (else filler) order number. A stored order is
 * updated: the message's elements replace the stored ones, the rest stays (a cancel with ORC only
 * changes the status). Returns its reference.
 */
async function upsertOrder(group: OrderGroup, subject: Reference | undefined, ctx: MapContext, tx: TransactionBuilder, lookup: Lookup, onlyIfMissing = false): Promise<Reference> {
  const { key } = orderIdentifiers(group, ctx);
  const earlier = key && tx.upserted('MedicationRequest', key);
  if (earlier) return onlyIfMissing ? earlier : updateInMessage(earlier, group, ctx, tx);
  const [stored] = key ? ((await lookup('MedicationRequest', identifierQuery(key))) as MedicationRequest[]) : [];
  if (stored && onlyIfMissing) return { reference: `MedicationRequest/${stored.id}` };
  const mapped = medicationRequest(group, subject ?? stored?.subject, ctx, tx);
  const { meta: _meta, ...kept } = stored ?? ({} as Partial<MedicationRequest>);
  const identifier = mergeIds(stored?.identifier, mapped.identifier);
  // No order number at all: no identifier element, as FHIR JSON has no empty arrays (issue 20).
  const merged = { ...kept, ...mapped, ...(identifier.length ? { identifier } : {}) } as MedicationRequest;
  if (!merged.subject) throw new MappingError('A new order needs the patient (PID segment)', HL7_ERROR.segmentSequence, { segment: 'PID' });
  if (!merged.medicationCodeableConcept && !merged.medicationReference) {
    throw new MappingError('A new order needs the medication (RXE-2 or RXO-1)', HL7_ERROR.requiredFieldMissing, { segment: group.get('RXE') ? 'RXE' : 'RXO', field: group.get('RXE') ? 2 : 1 });
  }
  return key ? tx.upsert(merged, key) : tx.create(merged);
}

/**
 * A second ORC group with the order number of an earlier one in the same message (issue 19): it
 * updates that order as a later message would (its elements replace, the rest stays), in the same
 * transaction. Groups naming different medications under one order number are not one order:
 * the message is answered AE rather than one of them dropped.
 */
function updateInMessage(earlier: Reference, group: OrderGroup, ctx: MapContext, tx: TransactionBuilder): Reference {
  const current = tx.get<MedicationRequest>(earlier)!;
  const mapped = medicationRequest(group, current.subject, ctx, tx);
  const codes = (m: MedicationRequest): string => JSON.stringify(m.medicationCodeableConcept?.coding?.map((c) => [c.system, c.code]) ?? m.medicationCodeableConcept?.text ?? null);
  if (mapped.medicationCodeableConcept && current.medicationCodeableConcept && codes(mapped) !== codes(current)) {
    throw new MappingError(`ORC ${group.orc.sequence} repeats the order number of an earlier ORC group in this message with a different medication`, HL7_ERROR.duplicateKey, { segment: 'ORC', sequence: group.orc.sequence, field: group.orc.get(2) ? 2 : 3 });
  }
  tx.replace(earlier, { ...current, ...mapped, identifier: mergeIds(current.identifier, mapped.identifier) } as MedicationRequest);
  return earlier;
}

const mergeIds = <T extends { system?: string; value?: string }>(a: T[] = [], b: T[] = []): T[] => [...b, ...a.filter((x) => !b.some((y) => y.system === x.system && y.value === x.value))];

/** RDE^O11 and OMP^O09 → one MedicationRequest per ORC group, with the Patient and prescribers. */
export const mapPharmacyOrder: MessageMapper = async (message, ctx, lookup) => {
  const tx = new TransactionBuilder(ctx);
  const groups = requireGroups(message);
  const subject = await subjectOf(message, ctx, tx, lookup);
  for (const group of groups) await upsertOrder(group, subject, ctx, tx, lookup);
  return tx.bundle();
};

/**
 * RDS^O13 → a MedicationDispense per RXD, its `authorizingPrescription` the MedicationRequest of the
 * same ORC (found by order number, or created from ORC/RXE when the order was never received).
 * Its identifier is the order number with the dispense sub-id counter (RXD-1), so redelivered
 * dispenses update rather than duplicate.
 */
export const mapPharmacyDispense: MessageMapper = async (message, ctx, lookup) => {
  const tx = new TransactionBuilder(ctx);
  const groups = requireGroups(message);
  const subject = await subjectOf(message, ctx, tx, lookup);
  const dispensed = new Map<string, number>();
  for (const group of groups) {
    const rxds = group.segments.filter((s) => s.id === 'RXD');
    if (!rxds.length) throw new MappingError('RDS^O13 needs an RXD segment in each order', HL7_ERROR.segmentSequence, { segment: 'RXD' });
    const order = await upsertOrder(group, subject, ctx, tx, lookup, true);
    const key = orderIdentifiers(group, ctx).key;
    if (!key) throw new MappingError('A dispensed order needs a placer (ORC-2) or filler (ORC-3) order number', HL7_ERROR.requiredFieldMissing, { segment: 'ORC', sequence: group.orc.sequence, field: 2 });
    for (const rxd of rxds) {
      // RXD-1 (dispense sub-id counter) tells dispenses of one order apart; without it, their order in the message does.
      const counted = (dispensed.get(key.value!) ?? 0) + 1;
      dispensed.set(key.value!, counted);
      const identifier = { system: key.system, value: `${key.value}-${rxd.get(1) ?? counted}` };
      if (tx.upserted('MedicationDispense', identifier)) {
        throw new MappingError(`RXD ${rxd.sequence} repeats dispense ${rxd.get(1) ?? counted} of order ${key.value} in this message`, HL7_ERROR.duplicateKey, { segment: 'RXD', sequence: rxd.sequence, field: 1 });
      }
      // The RXR of a dispense is the one following its RXD (RDS_O13: RXD, RXR+, RXC*).
      const rxr = group.segments.slice(group.segments.indexOf(rxd) + 1).find((s) => s.id === 'RXR' || s.id === 'RXD');
      const route = rxr?.id === 'RXR' ? mappedConcept(rxr.reps(1)[0], 'RouteOfAdministration', 'http://terminology.hl7.org/CodeSystem/v2-0162') : undefined;
      const dispense = compact<MedicationDispense>({
        resourceType: 'MedicationDispense',
        identifier: [identifier, ...(rxd.get(7) ? [{ system: key.system, value: rxd.get(7)!, type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'RXN' }] } }] : [])],
        status: 'completed',
        medicationCodeableConcept: codeableConcept(rxd.reps(2)[0]),
        subject: subject ?? tx.get<MedicationRequest>(order)?.subject,
        authorizingPrescription: [order],
        quantity: quantity(rxd.get(4) ?? undefined, rxd.reps(5)[0]),
        whenHandedOver: dateTime(rxd.get(3) ?? undefined),
        performer: [compact({ actor: practitionerFromXcn(rxd.reps(10)[0], ctx, tx) })],
        dosageInstruction: [compact({ text: rxd.get(9) ?? undefined, route })],
      })!;
      if (!dispense.medicationCodeableConcept) throw new MappingError('RXD-2 (dispense/give code) is required', HL7_ERROR.requiredFieldMissing, { segment: 'RXD', sequence: rxd.sequence, field: 2 });
      tx.upsert(dispense, identifier);
    }
  }
  return tx.bundle();
};
