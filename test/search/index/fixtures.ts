import type { Resource } from '@medplum/fhirtypes';
import { BASE_URL } from './support.js';

/**
 * Generated resources (ids `gen-*`) for the cases the official examples do not cover:
 * accents, precisions, open periods, absolute and identifier-only references, quantities.
 */

export const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
export const UCUM = 'http://unitsofmeasure.org';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

export const PATIENTS = [
  {
    resourceType: 'Patient',
    id: 'gen-muller',
    meta: { lastUpdated: '2024-05-01T10:00:00Z', tag: [{ system: 'urn:t', code: 'vip' }], profile: ['http://x.org/fhir/StructureDefinition/p|1.0'] },
    name: [{ family: 'Müller', given: ['Zoë'] }],
    gender: 'female',
    birthDate: '1990-06-15',
    address: [{ line: ['Bahnhofstrasse 1'], city: 'Zürich' }],
    identifier: [{ system: 'urn:mrn', value: 'M1', type: { coding: [{ system: V2_0203, code: 'MR' }], text: 'Medical record' } }],
    telecom: [{ system: 'email', value: 'zoe@example.org' }],
  },
  { resourceType: 'Patient', id: 'gen-mueller', name: [{ family: 'MUELLER', given: ['Hans'] }], gender: 'male', birthDate: '1990' },
  {
    resourceType: 'Patient',
    id: 'gen-smith',
    name: [{ family: 'Smith' }],
    birthDate: '1990-06',
    gender: 'other',
    generalPractitioner: [{ reference: `${BASE_URL}/Practitioner/gen-doc/_history/3` }],
    identifier: [{ system: 'urn:ssn', value: 'M1', type: { coding: [{ system: V2_0203, code: 'SS' }] } }],
  },
  {
    resourceType: 'Patient',
    id: 'gen-smyth',
    name: [{ family: 'Smyth', given: ['Peter'] }, { family: 'Zed' }],
    deceasedDateTime: '2020-02-29T12:30:00+01:00',
    managingOrganization: { identifier: { system: 'urn:org', value: 'O1' } },
    link: [{ other: { reference: 'http://other.org/fhir/Patient/99' }, type: 'seealso' }],
  },
  { resourceType: 'Patient', id: 'gen-noname', active: false },
] as Resource[];

export const CONSENTS = [
  { id: 'gen-c-open-end', provision: { period: { start: '2020-01-01' } } },
  { id: 'gen-c-open-start', provision: { period: { end: '2019-12-31' } } },
  { id: 'gen-c-closed', provision: { period: { start: '2019-06-01', end: '2020-06-30' } } },
  { id: 'gen-c-none' },
].map((c) => ({
  resourceType: 'Consent',
  status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  ...c,
})) as Resource[];

function medicationRequest(id: string, fields: Record<string, unknown>): Resource {
  return { resourceType: 'MedicationRequest', id, status: 'active', intent: 'order', subject: { reference: 'Patient/gen-smith' }, ...fields } as Resource;
}

function timing(...events: string[]): Record<string, unknown> {
  return { dosageInstruction: [{ timing: { event: events } }] };
}

export const MEDICATION_REQUESTS = [
  medicationRequest('gen-mr-abs', {
    subject: { reference: `${BASE_URL}/Patient/gen-smith/_history/2` },
    medicationCodeableConcept: { coding: [{ system: RXNORM, code: '1049502', display: 'Acetaminophen 325 MG Oral Tablet' }], text: 'Tylenol für Kinder' },
  }),
  medicationRequest('gen-mr-ext', { subject: { reference: 'http://other.org/fhir/Patient/gen-smith' } }),
  medicationRequest('gen-mr-ident', { subject: { type: 'Patient', identifier: { system: 'urn:mrn', value: 'M1' } } }),
  medicationRequest('gen-mr-group', { subject: { reference: 'Group/g1' } }),
  medicationRequest('gen-mr-contained', {
    contained: [{ resourceType: 'Medication', id: 'med1' }],
    medicationReference: { reference: '#med1' },
  }),
  medicationRequest('gen-mr-t1', timing('2021-03-01T08:00:00Z', '2021-03-05T08:00:00Z')),
  medicationRequest('gen-mr-t2', timing('2021-03-03T08:00:00Z')),
  medicationRequest('gen-mr-t3', timing('2021-02-01T08:00:00Z', '2021-04-01T08:00:00Z')),
];

export const APPOINTMENTS = [
  ...[
    ['gen-ap-30', 30],
    ['gen-ap-100', 100],
    ['gen-ap-101', 101],
    ['gen-ap-none', undefined],
  ].map(([id, minutesDuration]) => ({ resourceType: 'Appointment', id, status: 'booked', participant: [{ status: 'accepted' }], minutesDuration })),
  {
    resourceType: 'Appointment',
    id: 'gen-ap-pair',
    status: 'booked',
    participant: [
      { status: 'accepted', actor: { reference: 'Patient/p1' } },
      { status: 'declined', actor: { reference: 'Practitioner/d1' } },
    ],
  },
] as Resource[];

export const DISPENSES = [
  ['gen-md-5mg', { value: 5, unit: 'mg', system: UCUM, code: 'mg' }],
  ['gen-md-5tab', { value: 5, unit: 'tablet', system: 'http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm', code: 'TAB' }],
  ['gen-md-lt10', { value: 10, comparator: '<', unit: 'mL', system: UCUM, code: 'mL' }],
].map(([id, quantity]) => ({
  resourceType: 'MedicationDispense',
  id,
  status: id === 'gen-md-5tab' ? 'in-progress' : 'completed',
  medicationCodeableConcept: { text: 'x' },
  quantity,
})) as Resource[];

/** Every generated resource. */
export const GENERATED: Resource[] = [...PATIENTS, ...CONSENTS, ...MEDICATION_REQUESTS, ...APPOINTMENTS, ...DISPENSES];

/** Keeps the generated ids of a result. */
export function generated(ids: string[]): string[] {
  return ids.filter((id) => id.startsWith('gen-'));
}
