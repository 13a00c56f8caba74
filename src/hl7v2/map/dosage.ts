import type { CodeableConcept, Dosage, Quantity, Ratio, Timing } from '@medplum/fhirtypes';
import type { V2Repetition, V2Segment } from '../message.js';
import { codeableConcept, comp, compact, dateTime, mappedConcept, quantity } from './datatypes.js';

/** The segments of one ORC group, as `medication-request.ts` cuts them. */
export interface GroupSegments {
  orc: V2Segment;
  segments: V2Segment[];
  get(id: string): V2Segment | undefined;
}

/** The units of a CQ (component 2, a CWE in sub-components) as a repetition for `quantity`. */
export const cqUnits = (rep: V2Repetition | undefined): V2Repetition | undefined => rep?.[1]?.map((s) => [s]);

/** The first `id` segment after `from` in the group, before the next segment of `stop`. */
function after(group: GroupSegments, from: V2Segment | undefined, id: string, stop: readonly string[]): V2Segment | undefined {
  if (!from) return undefined;
  for (const s of group.segments.slice(group.segments.indexOf(from) + 1)) {
    if (s.id === id) return s;
    if (stop.includes(s.id)) return undefined;
  }
  return undefined;
}

// Repeat patterns (table 0335) with a GTS abbreviation (IG `codesystems/RepeatPattern.csv`).
const GTS: Record<string, string> = { BID: 'BID', TID: 'TID', QID: 'QID', QOD: 'QOD', Q1H: 'Q1H', Q2H: 'Q2H', Q3H: 'Q3H', Q4H: 'Q4H', Q6H: 'Q6H', Q8H: 'Q8H', Q1D: 'QD', QD: 'QD', Q1W: 'WK', Q1L: 'MO', AM: 'AM', PM: 'PM' };

/** A repeat pattern code (RPT-1, RI-1) → Timing.code: the v2-0335 coding, and the GTS one where the IG gives it. */
export function repeatPattern(code: string | undefined, display?: string, textValue?: string): CodeableConcept | undefined {
  if (!code) return textValue ? { text: textValue } : undefined;
  const gts = GTS[code.toUpperCase()];
  return compact({
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0335', code, display }, gts ? { system: 'http://terminology.hl7.org/CodeSystem/v3-GTSAbbrev', code: gts } : undefined],
    text: textValue,
  });
}

/** HHMM[SS] times (TQ1-4, RI-2 `0600,1800`) → FHIR `time` values. */
const times = (values: Array<string | undefined>): string[] =>
  values.flatMap((v) => (v ?? '').split(',')).map((t) => /^(\d{2})(\d{2})(\d{2})?$/.exec(t.trim())).filter((m): m is RegExpExecArray => !!m).map((m) => `${m[1]}:${m[2]}:${m[3] ?? '00'}`);

/** TQ1 (v2.5+, IG TQ1[MedicationRequest]): repeat pattern coded (RPT), explicit times, bounds, duration, count. */
function timingFromTq1(tq1: V2Segment): Timing | undefined {
  const rpt = tq1.reps(3)[0];
  const duration = tq1.reps(13)[0];
  const durationUnit = UCUM_TIME.find((u) => u === comp(duration, 2));
  return compact({
    code: repeatPattern(comp(rpt, 1), comp(rpt, 2), comp(rpt, 9)),
    repeat: compact({
      timeOfDay: times(tq1.reps(4).map((r) => comp(r, 1))),
      boundsPeriod: compact({ start: dateTime(tq1.get(7) ?? undefined), end: dateTime(tq1.get(8) ?? undefined) }),
      // Timing needs a duration's unit (tim-1): kept only with a UCUM time unit.
      ...(durationUnit && Number(comp(duration, 1)) ? { duration: Number(comp(duration, 1)), durationUnit } : {}),
      // TQ1-14 total occurrences: `count` (the IG says countMax, which tim-8 forbids without a count).
      count: /^\d+$/.test(tq1.get(14) ?? '') ? Number(tq1.get(14)) : undefined,
    }),
  });
}

/** TQ (RXE-1, ORC-7 of v2.3/2.4; IG TQ[MedicationRequest], RI[Timing]): interval, explicit times, start, end, count. */
function timingFromTq(tq: V2Repetition): Timing | undefined {
  const pattern = comp(tq, 2, 1);
  return compact({
    code: repeatPattern(pattern && /^[A-Z0-9<>]+$/i.test(pattern) ? pattern : undefined, undefined, pattern && !/^[A-Z0-9<>]+$/i.test(pattern) ? pattern : undefined),
    repeat: compact({
      timeOfDay: times([comp(tq, 2, 2)]),
      boundsPeriod: compact({ start: dateTime(comp(tq, 4)), end: dateTime(comp(tq, 5)) }),
      count: /^\d+$/.test(comp(tq, 12) ?? '') ? Number(comp(tq, 12)) : undefined,
    }),
  });
}

const UCUM_TIME = ['s', 'min', 'h', 'd', 'wk', 'mo', 'a'] as const;

// RXE-22 give per (time unit): S<n>, M<n>, H<n>, D<n>, W<n>, L<n> (v2 ch. 4A.4.1.22) → UCUM.
const PER_UNIT: Record<string, string> = { S: 's', M: 'min', H: 'h', D: 'd', W: 'wk', L: 'mo' };

/** RXE-23/24 (RXO-21/22) → rateQuantity, or rateRatio per RXE-22's time unit. */
function rate(amount: string | undefined, units: V2Repetition | undefined, per: string | undefined): { rateQuantity?: Quantity; rateRatio?: Ratio } {
  const numerator = quantity(amount, units);
  if (!numerator) return {};
  const m = per && /^([SMHDWL])(\d+)$/i.exec(per.trim());
  if (!m) return { rateQuantity: numerator };
  const code = PER_UNIT[m[1].toUpperCase()];
  return { rateRatio: { numerator, denominator: { value: Number(m[2]), unit: code, system: 'http://unitsofmeasure.org', code } } };
}

/**
 * The order's Dosage (IG RXO[MedicationRequest], RXR[MedicationRequest], TQ1[MedicationRequest];
 * RXE fields in the places of their RXO counterparts): every RXE-7/RXO-7 repetition (administration
 * instructions) as `additionalInstruction` and `patientInstruction`, RXE-21/RXO-6 (pharmacy
 * instructions) as `text`, rate, RXE-19 as `maxDosePerPeriod`, the route of the RXR that follows
 * the RXE (RDE) or RXO, timing from TQ1 or, before v2.5, the TQ of RXE-1/ORC-7.
 */
export function dosage(group: GroupSegments): Dosage | undefined {
  const rxe = group.get('RXE');
  const rxo = group.get('RXO');
  const give = rxe ?? rxo;
  const rxr = after(group, give, 'RXR', ['RXE', 'RXO', 'RXD', 'RXG', 'RXA']);
  const tq1 = group.get('TQ1');
  const [low, high, units] = rxe ? [rxe.get(3), rxe.get(4), rxe.reps(5)[0]] : [rxo?.get(2), rxo?.get(3), rxo?.reps(4)[0]];
  const doseRange = high && low !== high ? compact({ low: quantity(low, units), high: quantity(high, units) }) : undefined;
  const tq = rxe?.reps(1)[0] ?? group.orc.reps(7)[0];
  const administration = give?.reps(7) ?? [];
  const pharmacy = (rxe ? rxe.reps(21) : rxo?.reps(6)) ?? [];
  const words = (reps: readonly V2Repetition[]): string | undefined => reps.map((r) => comp(r, 2) ?? comp(r, 9) ?? comp(r, 1)).filter(Boolean).join('; ') || undefined;
  const daily = rxe?.reps(19)[0];
  return compact({
    text: words(pharmacy),
    // A sentence in CWE-1 without display or system is text a sender put in the wrong component, not a code.
    additionalInstruction: administration.map((r) => (!comp(r, 2) && !comp(r, 3) && /\s/.test(comp(r, 1) ?? '') ? { text: comp(r, 1) } : codeableConcept(r))),
    patientInstruction: words(administration),
    route: rxr ? mappedConcept(rxr.reps(1)[0], 'RouteOfAdministration', 'http://terminology.hl7.org/CodeSystem/v2-0162') : undefined,
    site: codeableConcept(rxr?.reps(2)[0]),
    method: codeableConcept(rxr?.reps(4)[0]),
    timing: tq1 ? timingFromTq1(tq1) : tq ? timingFromTq(tq) : undefined,
    maxDosePerPeriod: compact({ numerator: quantity(comp(daily, 1), cqUnits(daily)), denominator: comp(daily, 1) ? { value: 1, unit: 'd', system: 'http://unitsofmeasure.org', code: 'd' } : undefined }),
    doseAndRate: [
      compact({
        doseRange,
        // Else TQ1-2 (CQ), or TQ-1 of RXE-1/ORC-7 (a CQ in sub-components).
        doseQuantity: doseRange ? undefined : low ? quantity(low, units) : tq1 ? quantity(tq1.get(2, 1) ?? undefined, cqUnits(tq1.reps(2)[0])) : quantity(comp(tq, 1, 1), tq?.[0]?.slice(1).map((s) => [s])),
        ...(rxe ? rate(rxe.get(23) ?? undefined, rxe.reps(24)[0], rxe.get(22) ?? undefined) : rate(rxo?.get(21) ?? undefined, rxo?.reps(22)[0], undefined)),
      }),
    ],
  });
}
