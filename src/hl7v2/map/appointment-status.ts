import type { Appointment } from '@medplum/fhirtypes';

type Status = Appointment['status'];

/**
 * SIU trigger event → Appointment.status (v2 ch. 10.3). Events that change the appointment's
 * state decide it; a booking, reschedule or modification takes SCH-25 (filler status, IG
 * `FillerStatusCodes-to-Appointment.csv`) when sent, else the listed status (undefined: keep the stored one).
 */
export const SIU_EVENTS: Readonly<Record<string, { status?: Status; decisive: boolean }>> = {
  S12: { status: 'booked', decisive: false }, // notification of new appointment booking
  S13: { status: 'booked', decisive: false }, // notification of appointment rescheduling
  S14: { decisive: false }, // notification of appointment modification
  S15: { status: 'cancelled', decisive: true }, // notification of appointment cancellation
  S17: { status: 'entered-in-error', decisive: true }, // notification of appointment deletion
  S26: { status: 'noshow', decisive: true }, // notification that patient did not show up
};

/** Duration units (SCH-10, AIS-8, ...) → minutes per unit; ISO+ / ANSI codes and UCUM. */
export const MINUTES_PER_UNIT: Readonly<Record<string, number>> = {
  S: 1 / 60, SEC: 1 / 60, MIN: 1, M: 1, H: 60, HR: 60, HOUR: 60, D: 1440, DAY: 1440, WK: 10080, W: 10080,
};
