import type { Appointment, MedicationDispense, MedicationRequest, Patient, Practitioner } from '@medplum/fhirtypes';
import { FAMILY_NAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES } from './generate-names.js';
import { randomFor, type Random } from './generate-random.js';

/**
 * The seeded data set of the search benchmark (issue 3): patients of a city hospital with their
 * general practitioners, prescriptions, dispenses and appointments. Everything is a pure function
 * of (seed, index), with client-chosen ids, so a data set of N patients is the first N patients of
 * any larger one, and loading can run in any order and at any concurrency.
 *
 * Per patient on average: 1.05 MedicationRequests (55% active), about 1.15 MedicationDispenses
 * (one per dispensed prescription, a refill for some active ones) and 1.05 Appointments (2024–2025,
 * 80% with the patient's own practitioner). One Practitioner per 100 patients, so a practitioner's
 * share of appointments stays the same at every size.
 */

export const DEFAULT_SEED = 20240603;
export const PATIENTS_PER_PRACTITIONER = 100;
export const MRN_SYSTEM = 'urn:oid:2.16.840.1.113883.19.5.99999.1';
const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
const MEDICATION_SYSTEM = 'https://fhirgate.dev/bench/CodeSystem/medication';
const CITIES = ['Springfield', 'Riverside', 'Fairview', 'Greenville', 'Madison', 'Franklin', 'Clinton', 'Georgetown', 'Salem', 'Bristol'];
const STREETS = ['Main Street', 'Oak Avenue', 'Harbour Street', 'Elm Road', 'Station Road', 'Church Lane', 'Park Drive', 'Mill Lane', 'Cedar Court', 'High Street'];
const MEDICATIONS: ReadonlyArray<readonly [code: string, display: string, dose: string]> = [
  ['amlodipine-5mg-tab', 'Amlodipine 5 mg oral tablet', '1 tablet by mouth once daily'],
  ['lisinopril-10mg-tab', 'Lisinopril 10 mg oral tablet', '1 tablet by mouth once daily'],
  ['metformin-500mg-tab', 'Metformin 500 mg oral tablet', '1 tablet by mouth twice daily with meals'],
  ['atorvastatin-20mg-tab', 'Atorvastatin 20 mg oral tablet', '1 tablet by mouth at bedtime'],
  ['levothyroxine-50mcg-tab', 'Levothyroxine 50 microgram oral tablet', '1 tablet by mouth every morning'],
  ['omeprazole-20mg-cap', 'Omeprazole 20 mg oral capsule', '1 capsule by mouth before breakfast'],
  ['sertraline-50mg-tab', 'Sertraline 50 mg oral tablet', '1 tablet by mouth once daily'],
  ['amoxicillin-500mg-cap', 'Amoxicillin 500 mg oral capsule', '1 capsule by mouth three times daily for 7 days'],
  ['salbutamol-100mcg-inh', 'Salbutamol 100 microgram/dose inhaler', '2 puffs as needed for wheeze'],
  ['ibuprofen-400mg-tab', 'Ibuprofen 400 mg oral tablet', '1 tablet by mouth every 8 hours as needed'],
  ['apixaban-5mg-tab', 'Apixaban 5 mg oral tablet', '1 tablet by mouth twice daily'],
  ['losartan-50mg-tab', 'Losartan 50 mg oral tablet', '1 tablet by mouth once daily'],
];
const DAY_MS = 86_400_000;
const EPOCH_2024 = Date.UTC(2024, 0, 1);

/** Number of practitioners in a data set of `patients` patients. */
export function practitionerCount(patients: number): number {
  return Math.ceil(patients / PATIENTS_PER_PRACTITIONER);
}

export const patientId = (i: number): string => `pat-${pad(i, 7)}`;
export const practitionerId = (i: number): string => `prac-${pad(i, 5)}`;
export const mrn = (i: number): string => `MRN-${pad(i, 7)}`;
/** The practitioner patient `i` is registered with. */
export const generalPractitionerOf = (i: number): number => Math.floor(i / PATIENTS_PER_PRACTITIONER);

/** Everything generated for one patient. */
export interface PatientRecords {
  patient: Patient;
  medicationRequests: MedicationRequest[];
  medicationDispenses: MedicationDispense[];
  appointments: Appointment[];
}

export function generatePractitioner(seed: number, index: number): Practitioner {
  const random = randomFor(seed, 'practitioner', index);
  const female = random.chance(0.5);
  return {
    resourceType: 'Practitioner',
    id: practitionerId(index),
    identifier: [{ use: 'official', system: NPI_SYSTEM, value: String(1_000_000_000 + index * 7_919) }],
    active: true,
    name: [{ use: 'official', family: random.pick(FAMILY_NAMES), given: [random.pick(female ? FEMALE_GIVEN_NAMES : MALE_GIVEN_NAMES)], prefix: ['Dr.'] }],
    telecom: [{ system: 'phone', value: phone(random), use: 'work' }],
    gender: female ? 'female' : 'male',
  };
}

export function generatePatientRecords(seed: number, index: number): PatientRecords {
  const random = randomFor(seed, 'patient', index);
  const patient = generatePatient(random, index);
  const medicationRequests: MedicationRequest[] = [];
  const medicationDispenses: MedicationDispense[] = [];
  const prescriptions = perPatient(random);
  for (let k = 0; k < prescriptions; k++) {
    const request = generateMedicationRequest(random, index, k);
    medicationRequests.push(request);
    medicationDispenses.push(...generateDispenses(random, request));
  }
  const appointments = Array.from({ length: perPatient(random) }, (_, k) => generateAppointment(random, patient, index, k));
  return { patient, medicationRequests, medicationDispenses, appointments };
}

/** 0–3 with mean 1.05: how many MedicationRequests, and Appointments, a patient has. */
function perPatient(random: Random): number {
  return random.weighted([[0, 35], [1, 35], [2, 20], [3, 10]]);
}

function generatePatient(random: Random, index: number): Patient {
  const gender = random.weighted([['female', 49], ['male', 49], ['other', 1], ['unknown', 1]] as const);
  const givenNames = gender === 'female' ? FEMALE_GIVEN_NAMES : gender === 'male' ? MALE_GIVEN_NAMES : random.pick([FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES]);
  const given = random.chance(0.3) ? [random.pick(givenNames), random.pick(givenNames)] : [random.pick(givenNames)];
  const gp = generalPractitionerOf(index);
  return {
    resourceType: 'Patient',
    id: patientId(index),
    identifier: [
      {
        use: 'usual',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR', display: 'Medical record number' }] },
        system: MRN_SYSTEM,
        value: mrn(index),
      },
    ],
    active: true,
    name: [{ use: 'official', family: random.pick(FAMILY_NAMES), given }],
    telecom: [{ system: 'phone', value: phone(random), use: random.pick(['home', 'mobile'] as const) }],
    gender,
    birthDate: day(Date.UTC(1930, 0, 1) + random.int(91 * 365) * DAY_MS),
    address: [{ use: 'home', type: 'both', line: [`${random.between(1, 999)} ${random.pick(STREETS)}`], city: random.pick(CITIES), postalCode: String(random.between(10_000, 99_999)), country: 'US' }],
    generalPractitioner: [{ reference: `Practitioner/${practitionerId(gp)}` }],
  };
}

function generateMedicationRequest(random: Random, index: number, k: number): MedicationRequest {
  const [code, display, dose] = random.pick(MEDICATIONS);
  const status = random.weighted([['active', 55], ['completed', 30], ['stopped', 8], ['on-hold', 4], ['cancelled', 3]] as const);
  return {
    resourceType: 'MedicationRequest',
    id: `mr-${pad(index, 7)}-${k}`,
    status,
    intent: 'order',
    priority: random.chance(0.95) ? 'routine' : 'urgent',
    medicationCodeableConcept: { coding: [{ system: MEDICATION_SYSTEM, code, display }], text: display },
    subject: { reference: `Patient/${patientId(index)}` },
    authoredOn: day(EPOCH_2024 - 365 * DAY_MS + random.int(2 * 365) * DAY_MS),
    requester: { reference: `Practitioner/${practitionerId(generalPractitionerOf(index))}` },
    dosageInstruction: [{ text: dose }],
    dispenseRequest: { numberOfRepeatsAllowed: random.int(4), expectedSupplyDuration: { value: 30, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' } },
  };
}

/** One dispense per dispensed prescription, a refill for 30% of the active ones. */
function generateDispenses(random: Random, request: MedicationRequest): MedicationDispense[] {
  if (request.status === 'cancelled' || request.status === 'on-hold') return [];
  const fills = request.status === 'active' && random.chance(0.3) ? 2 : 1;
  const authored = Date.parse(request.authoredOn!);
  return Array.from({ length: fills }, (_, fill) => ({
    resourceType: 'MedicationDispense',
    id: `md-${request.id!.slice(3)}-${fill}`,
    status: 'completed',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: fill === 0 ? 'FF' : 'RF', display: fill === 0 ? 'First Fill' : 'Refill' }] },
    medicationCodeableConcept: request.medicationCodeableConcept,
    subject: request.subject,
    authorizingPrescription: [{ reference: `MedicationRequest/${request.id}` }],
    quantity: { value: 30, unit: 'tablet' },
    daysSupply: { value: 30, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' },
    whenHandedOver: instant(authored + (fill * 30 + random.between(0, 3)) * DAY_MS + random.between(9, 18) * 3_600_000),
  }));
}

function generateAppointment(random: Random, patient: Patient, index: number, k: number): Appointment {
  // Mostly the patient's own practitioner, otherwise a colleague with a lower index (one that exists at every size).
  const gp = generalPractitionerOf(index);
  const practitioner = random.chance(0.8) ? gp : random.between(Math.max(0, gp - 9), gp);
  const start = EPOCH_2024 + random.int(2 * 365) * DAY_MS + (8 * 60 + 15 * random.int(36)) * 60_000;
  const minutes = random.pick([15, 15, 30]);
  const past = start < Date.UTC(2025, 5, 1);
  const status = past
    ? random.weighted([['fulfilled', 85], ['noshow', 5], ['cancelled', 10]] as const)
    : random.weighted([['booked', 90], ['cancelled', 10]] as const);
  const name = patient.name![0];
  return {
    resourceType: 'Appointment',
    id: `appt-${pad(index, 7)}-${k}`,
    status,
    appointmentType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0276', code: random.pick(['ROUTINE', 'FOLLOWUP', 'CHECKUP']) }] },
    description: random.pick(['Annual review', 'Medication review', 'Blood pressure check', 'Follow-up visit', 'New symptoms']),
    start: instant(start),
    end: instant(start + minutes * 60_000),
    minutesDuration: minutes,
    participant: [
      { actor: { reference: `Patient/${patient.id}`, display: `${name.given![0]} ${name.family}` }, required: 'required', status: 'accepted' },
      { actor: { reference: `Practitioner/${practitionerId(practitioner)}` }, required: 'required', status: 'accepted' },
    ],
  };
}

function phone(random: Random): string {
  // The fictional 555-01xx range.
  return `+1 ${random.between(201, 989)} 555 01${pad(random.int(100), 2)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const instant = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;
