import type { Address, Identifier, Patient, PatientContact, Reference } from '@medplum/fhirtypes';
import type { V2Message, V2Segment } from '../message.js';
import type { AnyReference, TransactionBuilder } from './bundle.js';
import type { MapContext } from './context.js';
import { compact } from './datatypes.js';
import { NK1_RULES, PD1_RULES, PID_RULES } from './patient-rules.js';
import { practitionerFromXcn } from './practitioner.js';
import { applyRules, clearTarget, type FieldRule } from './segment-map.js';
import { text } from '../message.js';
import { HL7_ERROR, MappingError, type Lookup } from './types.js';
import { identifierQuery } from './bundle.js';

/** The identifier a PID is upserted by: the first PID-3 repetition of type MR, else the first one (IG PID-3). */
export function patientKey(pid: V2Segment, patient: Patient): Identifier {
  const ids = (patient.identifier ?? []).filter((id) => pid.reps(3).some((rep) => rep[0]?.[0]?.trim() === id.value));
  const key = ids.find((id) => id.type?.coding?.[0]?.code === 'MR') ?? ids[0];
  if (!key) throw new MappingError('PID-3 (patient identifier list) holds no identifier', HL7_ERROR.requiredFieldMissing, { segment: 'PID', sequence: pid.sequence, field: 3 });
  return key;
}

/**
 * PID (+ the PD1 and NK1 segments that follow it) → Patient, before merging with the stored one.
 * `cleared` collects the rules of fields sent as `""`, whose elements the update removes.
 */
export function patientFromPid(message: V2Message, pid: V2Segment, ctx: MapContext, tx: TransactionBuilder, cleared: FieldRule[] = []): Patient {
  const patient: Record<string, unknown> = { resourceType: 'Patient', active: true };
  applyRules(pid, PID_RULES, ctx, patient, cleared);
  countyOf(pid, patient);
  const group = followers(message, pid);
  const pd1 = group.find((s) => s.id === 'PD1');
  if (pd1) {
    applyRules(pd1, PD1_RULES, ctx, patient);
    const gps = pd1.reps(4).map((rep) => practitionerFromXcn(rep, ctx, tx)).filter((r): r is Reference => !!r);
    if (gps.length) patient.generalPractitioner = gps;
  }
  const contacts = group.filter((s) => s.id === 'NK1').map((nk1) => {
    const contact: Record<string, unknown> = {};
    applyRules(nk1, NK1_RULES, ctx, contact);
    return compact(contact) as PatientContact | undefined;
  });
  if (contacts.some(Boolean)) patient.contact = contacts.filter(Boolean);
  return compact(patient) as Patient;
}

/**
 * PID-12 (county code) → `address.district` (IG PID[Patient]): on the one address when it names
 * no county (XAD-9), on an address of its own otherwise (several addresses, or none).
 */
function countyOf(pid: V2Segment, patient: Record<string, unknown>): void {
  const county = text(pid.get(12));
  if (!county) return;
  const addresses = (patient.address as Address[] | undefined) ?? [];
  if (addresses.length === 1 && !addresses[0].district) addresses[0] = { ...addresses[0], district: county };
  else if (!addresses.some((a) => a.district === county)) addresses.push({ district: county });
  patient.address = addresses;
}

/** The segments after `segment` up to the next PID (its group in ADT, SIU and pharmacy structures). */
export function followers(message: V2Message, segment: V2Segment): V2Segment[] {
  const rest = message.segments.slice(segment.index + 1);
  const end = rest.findIndex((s) => s.id === 'PID' || s.id === 'MRG');
  return end < 0 ? rest : rest.slice(0, end);
}

/**
 * Upserts the Patient of `pid` by its key identifier. A stored Patient is updated element by element:
 * what the message carries replaces, what it does not carry stays (A08 and A03 send what changed).
 * A Patient merged away by ADT^A40 is not updated: its `replaced-by` link is followed to the
 * survivor (patient.html#links, issue 19), which is updated by id and does not take over the
 * merged-away identifiers, so each identifier keeps naming one Patient.
 */
export async function upsertPatient(message: V2Message, pid: V2Segment, ctx: MapContext, tx: TransactionBuilder, lookup: Lookup): Promise<{ reference: AnyReference; key: Identifier }> {
  const cleared: FieldRule[] = [];
  const mapped = patientFromPid(message, pid, ctx, tx, cleared);
  const key = patientKey(pid, mapped);
  const found = (await lookup('Patient', identifierQuery(key))) as Patient[];
  const current = found.find((p) => !replacedBy(p));
  if (current || !found.length) return { reference: tx.upsert(current ? mergePatient(current, mapped, cleared) : mapped, key), key };
  const survivor = await followReplacedBy(found[0], lookup);
  const merged = found.flatMap((p) => p.identifier ?? []);
  const own = { ...mapped, identifier: mapped.identifier?.filter((i) => !merged.some((m) => m.system === i.system && m.value === i.value)) };
  const updated = mergePatient(survivor, own, cleared) as Patient & { id: string };
  return { reference: tx.update(updated, survivor.meta?.versionId), key };
}

const replacedBy = (patient: Patient): string | undefined => patient.link?.find((l) => l.type === 'replaced-by')?.other.reference;

/** The Patient at the end of a `replaced-by` chain (several merges), with a bound against cycles. */
async function followReplacedBy(start: Patient, lookup: Lookup): Promise<Patient> {
  let patient = start;
  const seen = new Set<string>([start.id!]);
  for (let next = replacedBy(patient); next; next = replacedBy(patient)) {
    const id = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(next)?.[1];
    const [target] = id && !seen.has(id) && seen.size < 10 ? ((await lookup('Patient', `_id=${id}`)) as Patient[]) : [];
    if (!target) throw new MappingError(`Patient/${patient.id} was merged into ${next}, which cannot be read`, HL7_ERROR.unknownKey, { segment: 'PID', field: 3 });
    seen.add(id!);
    patient = target;
  }
  return patient;
}

function mergePatient(stored: Patient, mapped: Patient, cleared: readonly FieldRule[]): Patient {
  const { meta: _meta, ...rest } = structuredClone(stored);
  // A field sent as `""` removes what it maps to (v2 ch. 2.5.3), unless another field of the message sets it again.
  for (const rule of cleared) {
    const key = rule.target.replace(/\[\]$/, '');
    if (rule.target.startsWith('ext:') || key === 'identifier' || !(key in mapped)) clearTarget(rest as Record<string, unknown>, rule);
  }
  // PID-19 and PID-20 hold one number each: a new one replaces the stored one of its type.
  for (const type of PID_RULES.map((r) => r.identifierType).filter((t): t is string => !!t)) {
    const ofType = (i: Identifier): boolean => !!i.type?.coding?.some((c) => c.code === type);
    if (mapped.identifier?.some(ofType)) rest.identifier = rest.identifier?.filter((i) => !ofType(i) || mapped.identifier!.some((m) => m.system === i.system && m.value === i.value));
  }
  // A new birth date without a time: the stored time (patient-birthTime) was of the old date.
  if (mapped.birthDate && !('_birthDate' in mapped)) delete (rest as Record<string, unknown>)._birthDate;
  const identifier = [...(mapped.identifier ?? [])];
  for (const id of rest.identifier ?? []) if (!identifier.some((i) => i.system === id.system && i.value === id.value)) identifier.push(id);
  // A merged-away Patient stays inactive whatever later demographics say (ADT^A40).
  const replaced = stored.link?.some((l) => l.type === 'replaced-by');
  return { ...rest, ...mapped, id: stored.id, identifier, ...(replaced ? { active: false } : {}) };
}
