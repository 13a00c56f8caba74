import type { Appointment, AppointmentParticipant } from '@medplum/fhirtypes';
import type { V2Segment } from '../message.js';
import { MINUTES_PER_UNIT, SIU_EVENTS } from './appointment-status.js';
import { identifierQuery, TransactionBuilder } from './bundle.js';
import { codeableConcept, comp, compact, dateTime, entityIdentifier, vocab } from './datatypes.js';
import { upsertPatient } from './patient.js';
import { practitionerFromXcn } from './practitioner.js';
import { HL7_ERROR, MappingError, type MessageMapper } from './types.js';

const minutes = (amount: string | null | undefined, unit: string | null | undefined): number | undefined => {
  const n = Number(amount);
  const per = MINUTES_PER_UNIT[(unit ?? 'MIN').toUpperCase()];
  return amount && Number.isFinite(n) && per ? n * per : undefined;
};
const plus = (start: string | undefined, mins: number | undefined): string | undefined =>
  start && mins !== undefined && start.includes('T') ? new Date(Date.parse(start) + mins * 60_000).toISOString().replace('.000Z', 'Z') : undefined;

/** Start/end of a resource segment (AIS 4/5/7/8, AIG 8/9/11/12, AIL and AIP 6/7/9/10), IG AIx[Appointment]. */
function resourcePeriod(seg: V2Segment, startField: number): { start?: string; end?: string } {
  const start = dateTime(seg.get(startField) ?? undefined);
  const duration = minutes(seg.get(startField + 3), seg.get(startField + 4, 1));
  return { start, end: plus(start, duration) };
}

const PARTICIPANT_FIELDS: Record<string, { actor: number; type: number; start: number; status: number }> = {
  AIS: { actor: 3, type: 0, start: 4, status: 10 },
  AIG: { actor: 3, type: 4, start: 8, status: 14 },
  AIL: { actor: 3, type: 4, start: 6, status: 12 },
  AIP: { actor: 3, type: 4, start: 6, status: 12 },
};

/**
 * SIU^S12/S13/S14/S15/S17/S26 → the Appointment upserted by its filler (SCH-2) else placer (SCH-1)
 * appointment id, with the Patient of PID and the Practitioners of AIP (IG SCH, AIS, AIG, AIL, AIP
 * [Appointment]). Locations and equipment are not served types: they are display-only participants.
 */
export const mapScheduling: MessageMapper = async (message, ctx, lookup) => {
  const tx = new TransactionBuilder(ctx);
  const sch = message.first('SCH');
  if (!sch) throw new MappingError('The SCH segment is required', HL7_ERROR.segmentSequence, { segment: 'SCH' });
  const placer = entityIdentifier(sch.reps(1)[0], ctx, 'PLAC');
  const filler = entityIdentifier(sch.reps(2)[0], ctx, 'FILL');
  const key = filler ?? placer;
  if (!key) throw new MappingError('SCH-1 or SCH-2 (appointment id) is required', HL7_ERROR.requiredFieldMissing, { segment: 'SCH', sequence: 1, field: 2 });
  const participant: AppointmentParticipant[] = [];
  const pid = message.first('PID');
  if (pid) participant.push({ actor: (await upsertPatient(message, pid, ctx, tx, lookup)).reference, status: 'accepted' });

  const periods: Array<{ start?: string; end?: string }> = [];
  let serviceType;
  for (const seg of message.segments.filter((s) => s.id in PARTICIPANT_FIELDS)) {
    const f = PARTICIPANT_FIELDS[seg.id];
    periods.push(resourcePeriod(seg, f.start));
    if (seg.id === 'AIS') {
      serviceType ??= codeableConcept(seg.reps(3)[0]);
      continue;
    }
    const actor = seg.id === 'AIP' ? practitionerFromXcn(seg.reps(3)[0], ctx, tx) : { display: comp(seg.reps(3)[0], 2) ?? comp(seg.reps(3)[0], 1) ?? comp(seg.reps(3)[0], 1, 2) };
    const status = vocab('FillerStatusCodes-to-Appointment', seg.get(f.status) ?? undefined)?.code === 'cancelled' ? 'declined' : 'accepted';
    const p = compact<AppointmentParticipant>({ actor: compact(actor), type: [codeableConcept(seg.reps(f.type)[0])], status: status as AppointmentParticipant['status'], period: compact(resourcePeriod(seg, f.start)) });
    if (p?.actor) participant.push(p);
  }
  // TQ1 (v2.5+) before the deprecated SCH-11 timing quantity.
  const tq1 = message.first('TQ1');
  const [tqStart, tqEnd] = [dateTime(tq1?.get(7) ?? sch.get(11, 4) ?? undefined), dateTime(tq1?.get(8) ?? sch.get(11, 5) ?? undefined)];
  const start = tqStart ?? periods.map((p) => p.start).filter(Boolean).sort()[0];
  const duration = minutes(sch.get(9), sch.get(10, 1));
  const end = tqEnd ?? periods.map((p) => p.end).filter(Boolean).sort().at(-1) ?? plus(start, duration);

  const [stored] = (await lookup('Appointment', identifierQuery(key))) as Appointment[];
  const event = SIU_EVENTS[message.triggerEvent];
  const filed = vocab('FillerStatusCodes-to-Appointment', sch.get(25, 1) ?? undefined)?.code as Appointment['status'] | undefined;
  const status = (event.decisive ? event.status : filed ?? event.status) ?? stored?.status ?? 'booked';
  const mapped = compact<Appointment>({
    resourceType: 'Appointment',
    identifier: [placer, filler].filter((i) => !!i),
    status,
    // SCH-7 is the reason unless coded in table 0277 (appointment type), as in the IG's SCH[Appointment].
    reasonCode: sch.get(7, 3) === 'HL70277' ? undefined : [codeableConcept(sch.reps(7)[0])],
    appointmentType: codeableConcept(sch.reps(8)[0] ?? (sch.get(7, 3) === 'HL70277' ? sch.reps(7)[0] : undefined)),
    serviceType: serviceType ? [serviceType] : undefined,
    start: start && end ? start : undefined,
    end: start && end ? end : undefined,
    minutesDuration: duration && Number.isInteger(duration) && duration > 0 ? duration : undefined,
    comment: message.segments.filter((s) => s.id === 'NTE' && s.index < (pid?.index ?? Infinity)).map((n) => n.get(3)).filter(Boolean).join('\n') || undefined,
    participant,
  })!;
  if (!mapped.participant?.length && !stored) throw new MappingError('The appointment has no participant (PID, AIP, AIL, AIG)', HL7_ERROR.segmentSequence, { segment: 'PID' });
  const { meta: _meta, ...kept } = stored ?? ({} as Partial<Appointment>);
  const merged = { ...kept, ...mapped, participant: mapped.participant?.length ? mapped.participant : stored?.participant } as Appointment;
  tx.upsert(merged, key);
  return tx.bundle();
};
