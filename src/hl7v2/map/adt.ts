import type { Patient, Resource } from '@medplum/fhirtypes';
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

// Resource types whose references to a merged-away Patient move to the survivor, with the search parameter finding them.
const REFERRERS: ReadonlyArray<[string, string]> = [
  ['MedicationRequest', 'subject'],
  ['MedicationDispense', 'subject'],
  ['Appointment', 'actor'],
  ['Consent', 'patient'],
];

/**
 * ADT^A40 (merge patient, patient identifier list): for each PID/MRG pair the Patient of MRG-1 is
 * marked inactive with `link` `replaced-by` the surviving Patient of PID-3 (which gets `replaces`),
 * and every stored reference to the old Patient moves to the survivor (patient.html#merge).
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
    const old: Patient = stored ? { ...stored } : compact({ resourceType: 'Patient' as const, identifier: oldIds, name: mrg.reps(7).map(humanName).filter((n) => !!n) })!;
    old.active = false;
    old.link = [...(old.link ?? []).filter((l) => l.type !== 'replaced-by'), { other: survivor, type: 'replaced-by' }];
    const oldRef = stored ? tx.update({ ...old, id: stored.id!, meta: undefined }, stored.meta?.versionId) : tx.upsert(old, oldKey);
    const surviving = tx.get<Patient>(survivor)!;
    // A repeated A40 replaces the link rather than adding a second one (issue 19).
    const sameOld = (ref: string | undefined): boolean => ref === oldRef.reference || (!!stored && ref === `Patient/${stored.id}`);
    tx.replace(survivor, { ...surviving, link: [...(surviving.link ?? []).filter((l) => !sameOld(l.other.reference)), { other: oldRef, type: 'replaces' }] });
    if (stored) await moveReferences(`Patient/${stored.id}`, survivor, tx, lookup);
  }
  return tx.bundle();
};

async function moveReferences(from: string, to: AnyReference, tx: TransactionBuilder, lookup: Lookup): Promise<void> {
  for (const [type, param] of REFERRERS) {
    for (const resource of await lookup(type, `${param}=${encodeURIComponent(from)}`)) {
      const moved = replaceReference(resource, from, to.reference!) as Resource & { id: string };
      tx.update({ ...moved, meta: undefined } as Resource & { id: string }, resource.meta?.versionId);
    }
  }
}

/** A deep copy of `value` with every `reference: from` replaced by `to`. */
export function replaceReference(value: unknown, from: string, to: string): unknown {
  if (Array.isArray(value)) return value.map((v) => replaceReference(v, from, to));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'reference' && v === from ? to : replaceReference(v, from, to)]));
  }
  return value;
}
