import type { Consent, Period } from '@medplum/fhirtypes';

const SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';

/**
 * Whether a Consent is in force for `patient` at `now` (R4 consent.html#scope): scope
 * `patient-privacy`, status `active`, issued (`dateTime`) not in the future, and the root
 * `provision.period` covering now. Other statuses (draft, proposed, rejected, inactive,
 * entered-in-error) never decide.
 */
export function isConsentInForce(consent: Consent, patient: string, now: Date): boolean {
  if (consent.status !== 'active') return false;
  if (consent.patient?.reference !== patient) return false;
  const privacy = consent.scope?.coding?.some((c) => c.code === 'patient-privacy' && (c.system === undefined || c.system === SCOPE_SYSTEM));
  if (!privacy) return false;
  if (consent.dateTime !== undefined && startOf(consent.dateTime) > now.getTime()) return false;
  return periodCovers(consent.provision?.period, now.getTime());
}

/** Whether `instant` (ms) lies in a FHIR Period; partial dates cover their whole span (datatypes.html#Period). */
export function periodCovers(period: Period | undefined, instant: number): boolean {
  if (!period) return true;
  if (period.start !== undefined && instant < startOf(period.start)) return false;
  if (period.end !== undefined && instant >= endOf(period.end)) return false;
  return true;
}

/** Earliest instant of a FHIR date/dateTime (a date without zone is read as UTC). */
export function startOf(value: string): number {
  const [y, m = '01', d = '01'] = value.slice(0, 10).split('-');
  if (value.length <= 10) return Date.UTC(Number(y), Number(m) - 1, Number(d));
  return Date.parse(value);
}

/** First instant after a FHIR date/dateTime's span (2016 → 2017-01-01, 2016-05 → 2016-06-01). */
export function endOf(value: string): number {
  if (value.length > 10) return Date.parse(value) + 1;
  const parts = value.split('-').map(Number);
  const [y, m, d] = parts as [number, number | undefined, number | undefined];
  if (m === undefined) return Date.UTC(y + 1, 0, 1);
  if (d === undefined) return Date.UTC(y, m, 1);
  return Date.UTC(y, m - 1, d + 1);
}
