import { FAMILY_NAMES } from '../lib/generate-names.js';
import { generatePatientRecords, mrn, MRN_SYSTEM, patientId, practitionerCount, practitionerId } from '../lib/generate.js';

/** One search of the benchmark: a shape, and the concrete URLs a measurement rotates through. */
export interface SearchQuery {
  name: string;
  /** The shape as the table shows it, e.g. `Patient?family=…`. */
  shape: string;
  /** Paths below the origin, e.g. `/fhir/Patient?family=Okafor`: the targets the load rotates through. */
  paths: string[];
}

/** The name of the read by id, measured with the searches as their yardstick. */
export const READ_QUERY = 'read';

/** Appointments on or after this date: about half of the 2024–2025 appointments. */
export const APPOINTMENTS_FROM = '2025-01-01';
const TARGETS = 16;

/**
 * The queries of issue 3, with targets spread over the loaded data set: family names (the same
 * ones at every size, so their match count grows with it), MRNs, patients that have an active
 * prescription, practitioners (about 100 patients each at every size). Each query also runs
 * with `_include`, which adds the referenced resources of every match on the page.
 */
export function searchQueries(seed: number, patients: number): SearchQuery[] {
  const families = spread(unambiguousFamilyNames(), TARGETS).map(encodeURIComponent);
  const mrns = spreadIndexes(patients, TARGETS).map((i) => encodeURIComponent(`${MRN_SYSTEM}|${mrn(i)}`));
  const prescribedIndexes = spreadIndexes(patients, TARGETS).map((i) => withActivePrescription(seed, i, patients));
  const prescribed = prescribedIndexes.map(patientId);
  const practitioners = spreadIndexes(practitionerCount(patients), TARGETS).map(practitionerId);
  const reads = spreadIndexes(patients, TARGETS).map(patientId);
  const base: SearchQuery[] = [
    { name: 'family', shape: 'Patient?family=…', paths: families.map((f) => `/fhir/Patient?family=${f}`) },
    { name: 'identifier', shape: 'Patient?identifier=sys|val', paths: mrns.map((v) => `/fhir/Patient?identifier=${v}`) },
    { name: 'prescriptions', shape: 'MedicationRequest?patient=X&status=active', paths: prescribed.map((id) => `/fhir/MedicationRequest?patient=${id}&status=active`) },
    { name: 'appointments', shape: `Appointment?practitioner=X&date=ge${APPOINTMENTS_FROM}`, paths: practitioners.map((id) => `/fhir/Appointment?practitioner=${id}&date=ge${APPOINTMENTS_FROM}`) },
  ];
  const includes: Record<string, string> = {
    family: 'Patient:general-practitioner',
    identifier: 'Patient:general-practitioner',
    prescriptions: 'MedicationRequest:patient',
    appointments: 'Appointment:patient',
  };
  return [
    // Not a search: the yardstick each search's throughput is divided by (issue 13).
    { name: READ_QUERY, shape: 'Patient/{id} (read by id)', paths: reads.map((id) => `/fhir/Patient/${id}`) },
    ...base,
    ...base.map((q) => ({
      name: `${q.name} + _include`,
      shape: `${q.shape}&_include=${includes[q.name]}`,
      paths: q.paths.map((p) => `${p}&_include=${includes[q.name]}`),
    })),
    // Beyond issue 13's list, as EHRs send them: a chain whose tail names one patient, and a
    // reverse chain whose own sub-query (every active prescription) is past the sub-query bound from
    // 10k patients on, answered for the family's patients (README "Search").
    {
      name: 'chain',
      shape: 'MedicationRequest?patient.identifier=sys|val&status=active',
      paths: prescribedIndexes.map((i) => `/fhir/MedicationRequest?patient.identifier=${encodeURIComponent(`${MRN_SYSTEM}|${mrn(i)}`)}&status=active`),
    },
    { name: '_has', shape: 'Patient?family=…&_has:MedicationRequest:patient:status=active', paths: families.map((f) => `/fhir/Patient?family=${f}&_has:MedicationRequest:patient:status=active`) },
    // Lists sorted by a search value with nothing else narrowing them (issue 13, "sorting uses
    // indexes"): read in order from the value index (src/store/embedded/sort-walk.ts).
    { name: 'sorted by name', shape: 'Patient?_sort=family', paths: ['/fhir/Patient?_sort=family'] },
    { name: 'latest appointments', shape: 'Appointment?_sort=-date', paths: ['/fhir/Appointment?_sort=-date'] },
  ];
}

/** Family names that are not the beginning of another (string search is starts-with: `Li` also finds `Lin`). */
function unambiguousFamilyNames(): string[] {
  const fold = (s: string): string => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  const folded = FAMILY_NAMES.map(fold);
  return FAMILY_NAMES.filter((_, i) => !folded.some((other, j) => j !== i && other.startsWith(folded[i])));
}

/** `count` items evenly spaced through the list. */
function spread<T>(items: readonly T[], count: number): T[] {
  return spreadIndexes(items.length, count).map((i) => items[i]);
}

/** `count` distinct indexes evenly spaced through [0, n) (fewer when n is smaller). */
function spreadIndexes(n: number, count: number): number[] {
  const indexes = Array.from({ length: Math.min(n, count) }, (_, k) => Math.floor(((k + 0.5) * n) / Math.min(n, count)));
  return [...new Set(indexes)];
}

/** The first patient from `i` on (wrapping around) that has an active MedicationRequest. */
function withActivePrescription(seed: number, i: number, patients: number): number {
  for (let step = 0; step < patients; step++) {
    const candidate = (i + step) % patients;
    if (generatePatientRecords(seed, candidate).medicationRequests.some((r) => r.status === 'active')) return candidate;
  }
  throw new Error('no patient in the data set has an active MedicationRequest');
}
