import type { MedicationRequest, Reference } from '@medplum/fhirtypes';
import type { V2Message, V2Repetition, V2Segment } from '../message.js';
import { text } from '../message.js';
import type { TransactionBuilder } from './bundle.js';
import type { MapContext } from './context.js';
import { codeableConcept, compact, dateTime, entityIdentifier, quantity } from './datatypes.js';
import { dosage } from './dosage.js';
import { orderStatus, SUPPORTED_ORDER_CONTROLS } from './order-status.js';
import { practitionerFromXcn } from './practitioner.js';
import { HL7_ERROR, MappingError } from './types.js';

/** One order group: the ORC and the segments up to the next ORC (RXO, RXE, RXR, TQ1, RXD, ...). */
export interface OrderGroup {
  orc: V2Segment;
  segments: V2Segment[];
  get(id: string): V2Segment | undefined;
}

export function orderGroups(message: V2Message): OrderGroup[] {
  const orcs = message.all('ORC');
  return orcs.map((orc, i) => {
    const end = orcs[i + 1]?.index ?? message.segments.length;
    const segments = message.segments.slice(orc.index + 1, end);
    return { orc, segments, get: (id) => segments.find((s) => s.id === id) };
  });
}

/** ORC-2 (placer) and ORC-3 (filler) order numbers as identifiers (IG ORC[ServiceRequest]); RXE-15 as a fallback. */
export function orderIdentifiers(group: OrderGroup, ctx: MapContext) {
  const placer = entityIdentifier(group.orc.reps(2)[0], ctx, 'PLAC');
  const filler = entityIdentifier(group.orc.reps(3)[0], ctx, 'FILL');
  const rx = group.get('RXE')?.get(15) ? entityIdentifier([[group.get('RXE')!.get(15)!]], ctx, 'RXN') : undefined;
  // Without any order number the order can only be created, never found again (see docs/hl7v2-mapping.md).
  return { key: placer ?? filler ?? rx, identifiers: [placer, filler, rx].filter((i) => !!i) };
}

/** An XCN with an id or a family name. */
const valued = (rep: V2Repetition): boolean => Boolean(text(rep[0]?.[0]) || text(rep[1]?.[0]));

/**
 * ORC + RXE (RDE^O11, RDS^O13) or RXO (OMP^O09), RXR and TQ1 → MedicationRequest. RXO follows the
 * IG's RXO[MedicationRequest]; the IG has no RXE or ORC[MedicationRequest] map yet, so RXE's
 * give code, amount, units, dispense amount and refills take the places of their RXO counterparts.
 */
export function medicationRequest(group: OrderGroup, subject: Reference | undefined, ctx: MapContext, tx: TransactionBuilder): MedicationRequest {
  const { orc } = group;
  const control = orc.get(1) ?? undefined;
  if (control && !SUPPORTED_ORDER_CONTROLS.has(control.toUpperCase())) {
    throw new MappingError(`Order control '${control}' is not supported`, HL7_ERROR.tableValueNotFound, { segment: 'ORC', sequence: orc.sequence, field: 1 });
  }
  const rxe = group.get('RXE');
  const rxo = group.get('RXO');
  // ORC-12, else RXO-14 (IG RXO[MedicationRequest]) or RXE-13 (ordering provider's DEA number): the first one valued.
  const requester = practitionerFromXcn([...orc.reps(12), ...(rxo?.reps(14) ?? []), ...(rxe?.reps(13) ?? [])].find(valued), ctx, tx);
  const [dispense, dispenseUnits, refills] = rxe ? [rxe.get(10), rxe.reps(11)[0], rxe.get(12)] : [rxo?.get(11), rxo?.reps(12)[0], rxo?.get(13)];
  const substitution = (rxe ?? rxo)?.get(9);
  return compact({
    resourceType: 'MedicationRequest' as const,
    identifier: orderIdentifiers(group, ctx).identifiers,
    status: orderStatus(control, orc.get(5) ?? undefined) ?? 'active',
    intent: rxe ? ('order' as const) : ('original-order' as const),
    medicationCodeableConcept: codeableConcept(rxe?.reps(2)[0] ?? rxo?.reps(1)[0]),
    subject: subject!,
    authoredOn: dateTime(orc.get(9) ?? undefined),
    requester,
    dosageInstruction: [dosage(group)],
    dispenseRequest: compact({
      quantity: quantity(dispense ?? undefined, dispenseUnits),
      numberOfRepeatsAllowed: /^\d+$/.test(refills ?? '') ? Number(refills) : undefined,
    }),
    substitution: substitution ? { allowedBoolean: substitution.toUpperCase() !== 'N' } : undefined,
  })!;
}
