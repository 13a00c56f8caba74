import type { Dosage, MedicationRequest, Reference } from '@medplum/fhirtypes';
import type { V2Message, V2Repetition, V2Segment } from '../message.js';
import type { TransactionBuilder } from './bundle.js';
import type { MapContext } from './context.js';
import { codeableConcept, comp, compact, dateTime, entityIdentifier, mappedConcept, quantity } from './datatypes.js';
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

function dosage(group: OrderGroup): Dosage | undefined {
  const rxe = group.get('RXE');
  const rxo = group.get('RXO');
  const rxr = group.get('RXR');
  const tq1 = group.get('TQ1');
  const [low, high, units] = rxe ? [rxe.get(3), rxe.get(4), rxe.reps(5)[0]] : [rxo?.get(2), rxo?.get(3), rxo?.reps(4)[0]];
  const doseRange = high && low !== high ? compact({ low: quantity(low, units), high: quantity(high, units) }) : undefined;
  const instructions = rxe?.reps(7)[0] ?? rxo?.reps(7)[0];
  return compact({
    text: comp(instructions, 2) ?? comp(instructions, 1),
    patientInstruction: comp(rxe?.reps(21)[0] ?? rxo?.reps(6)[0], 2),
    route: rxr ? mappedConcept(rxr.reps(1)[0], 'RouteOfAdministration', 'http://terminology.hl7.org/CodeSystem/v2-0162') : undefined,
    site: codeableConcept(rxr?.reps(2)[0]),
    method: codeableConcept(rxr?.reps(4)[0]),
    timing: compact({
      code: tq1?.get(3) ? { text: tq1.get(3, 1) ?? undefined } : undefined,
      repeat: compact({ boundsPeriod: compact({ start: dateTime(tq1?.get(7) ?? undefined), end: dateTime(tq1?.get(8) ?? undefined) }) }),
    }),
    doseAndRate: [compact({ doseRange, doseQuantity: doseRange ? undefined : low ? quantity(low, units) : quantity(tq1?.get(2, 1) ?? undefined, cqUnits(tq1?.reps(2)[0])) })],
  });
}

/** The units of a CQ (component 2, a CWE in sub-components) as a repetition for `quantity`. */
const cqUnits = (rep: V2Repetition | undefined): V2Repetition | undefined => rep?.[1]?.map((s) => [s]);

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
  const requester = practitionerFromXcn(orc.reps(12)[0] ?? rxo?.reps(14)[0], ctx, tx);
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
