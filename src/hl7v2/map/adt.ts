import type { Patient } from '@medplum/fhirtypes';
import { writeMerge } from '../../patient-merge/merge-writes.js';
import type { V2Message, V2Segment } from '../message.js';
import { identifierQuery, TransactionBuilder, type AnyReference } from './bundle.js';
import type { MapContext } from './context.js';
import { compact, humanName, identifier } from './datatypes.js';
import { followers, upsertPatient } from './patient.js';
import { practitionerFromXcn } from './practitioner.js';
import { HL7_ERROR, MappingError, type Lookup, type MessageMapper } from './types.js';

/** PV1 fields naming practitioners (attending, referring, consulting, admitting): upserted as Practitioners. */
const PV1_PRACTITIONER_FIELDS = [7, 8, 9, 17];
/** ROL-3 roles that make the person the patient's general practitioner (table 0443: primary care provider). */
const GP_ROLES = new Set(['PP', 'FHCP']);

function required(message: V2Message, id: string): V2Segment {
  const segment = message.first(id);
  if (!segment) throw new MappingError(`The ${id} segment is required in ${message.messageCode}^${message.triggerEvent}`, HL7_ERROR.segmentSequence, { segment: id });
  return segment;
}

/** The practitioners of PV1 and ROL segments; ROL primary care providers become `generalPractitioner`. */
function practitioners(message: V2Message, ctx: MapContext, tx: TransactionBuilder): AnyReference[] {
  for (const pv1 of message.all('PV1')) {
    for (const field of PV1_PRACTITIONER_FIELDS) for (const rep of pv1.reps(field)) practitionerFromXcn(rep, ctx, tx);
  }
  const gps: AnyReference[] = [];
  for (const rol of message.all('ROL')) {
    const refs = rol.reps(4).map((rep) => practitionerFromXcn(rep, ctx, tx)).filter((r): r is AnyReference => !!r);
    if (GP_ROLES.has(rol.get(3) ?? '')) gps.push(...refs);
  }
  return gps;
}

/**
 * ADT^A01/A03/A04/A05/A08/A28/A31 → the Patient (PID, PD1, NK1) upserted by its PID-3 identifier,
 * and the Practitioners of PV1-7/8/9/17 and ROL. FhirGate serves no Encounter, so the visit itself
 * (PV1 class, location, discharge of A03) is not stored; A03 updates what PID carries (e.g. death).
 */
export const mapAdtPatient: MessageMapper = async (message, ctx, lookup) => {
  const tx = new TransactionBuilder(ctx);
  const pid = required(message, 'PID');
  const gps = practitioners(message, ctx, tx);
  const { reference } = await upsertPatient(message, pid, ctx, tx, lookup);
  if (gps.length) {
    const patient = tx.get<Patient>(reference)!;
    const known = new Set((patient.generalPractitioner ?? []).map((r) => r.reference));
    tx.replace(reference, { ...patient, generalPractitioner: [...(patient.generalPractitioner ?? []), ...gps.filter((g) => !known.has(g.reference))] });
  }
  return tx.bundle();
};

/**
 * ADT^A40 (merge patient, patient identifier list): for each PID/MRG pair the Patient of MRG-1 is
 * merged into the surviving Patient of PID-3 by the writes `Patient/$merge` makes too
 * (`src/patient-merge/merge-writes.ts`: inactive, `replaced-by`/`replaces` links, references moved).
 * An old Patient not stored yet is recorded as such an inactive stub, so later references resolve.
 */
export const mapAdtMerge: MessageMapper = async (message, ctx, lookup) => {
  const tx = new TransactionBuilder(ctx);
  const pids = message.all('PID');
  if (!pids.length) required(message, 'PID');
  required(message, 'MRG');
  for (const [i, pid] of pids.entries()) {
    const mrg = message.segments.slice(pid.index + 1, pids[i + 1]?.index).find((s) => s.id === 'MRG');
    if (!mrg) {
      // A patient group without MRG: nothing to merge, the patient is updated as by A08.
      await upsertPatient(message, pid, ctx, tx, lookup);
      continue;
    }
    const oldIds = mrg.reps(1).map((rep) => identifier(rep, ctx)).filter((i) => !!i);
    if (!oldIds.length) throw new MappingError('MRG-1 (prior patient identifier list) holds no identifier', HL7_ERROR.requiredFieldMissing, { segment: 'MRG', sequence: mrg.sequence, field: 1 });
    const { reference: survivor, key } = await upsertPatient(message, pid, ctx, tx, lookup);
    const oldKey = oldIds.find((i) => i.type?.coding?.[0]?.code === 'MR') ?? oldIds[0];
    if (oldKey.system === key.system && oldKey.value === key.value) {
      throw new MappingError('MRG-1 names the surviving patient itself', HL7_ERROR.applicationError, { segment: 'MRG', sequence: mrg.sequence, field: 1 });
    }
    const [stored] = (await lookup('Patient', identifierQuery(oldKey))) as Patient[];
    const old: Patient = stored ?? compact({ resourceType: 'Patient' as const, identifier: oldIds, name: mrg.reps(7).map(humanName).filter((n) => !!n) })!;
    await writeMerge(tx, lookup, { patient: old, key: oldKey }, survivor);
  }
  return tx.bundle();
};
