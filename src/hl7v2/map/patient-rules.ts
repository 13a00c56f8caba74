import type { V2Segment } from '../message.js';
import type { FieldRule } from './segment-map.js';

const EXT = 'http://hl7.org/fhir/StructureDefinition';

/** PID[Patient] (IG `segments/PID-to-Patient.csv`); PID-3 also names the patient to upsert. */
export const PID_RULES: readonly FieldRule[] = [
  { field: 2, target: 'identifier[]', type: 'CX' },
  { field: 3, target: 'identifier[]', type: 'CX' },
  { field: 4, target: 'identifier[]', type: 'CX' },
  { field: 5, target: 'name[]', type: 'XPN' },
  { field: 6, target: `ext:${EXT}/patient-mothersMaidenName`, type: 'XPN-string' },
  { field: 7, target: 'birthDate', type: 'date' },
  { field: 7, target: '_birthDate', type: 'birthTime' },
  { field: 8, target: 'gender', type: 'code', vocab: 'AdministrativeSex' },
  { field: 9, target: 'name[]', type: 'XPN' },
  { field: 11, target: 'address[]', type: 'XAD' },
  // PID-12 (county) is mapped by `countyOf` (patient.ts); the rule only carries its `""`.
  { field: 12, target: 'address.district', type: 'string', when: () => false },
  { field: 13, target: 'telecom[]', type: 'XTN', defaults: { use: 'home' } },
  { field: 14, target: 'telecom[]', type: 'XTN', defaults: { use: 'work' } },
  // CWE[CodeableConcept] keeps both codings (the IG's PrimaryLanguage map has no rows yet).
  { field: 15, target: 'communication[]', type: 'CWE', wrap: 'language' },
  { field: 16, target: 'maritalStatus', type: 'CWE', vocab: 'MaritalStatus' },
  { field: 17, target: `ext:${EXT}/patient-religion`, type: 'CWE', vocab: 'Religion' },
  // Encrypted at rest by default (src/crypto/elements.ts, identifier types SS and DL).
  { field: 19, target: 'identifier[]', type: 'SSN', identifierType: 'SS' },
  { field: 20, target: 'identifier[]', type: 'DLN', identifierType: 'DL' },
  { field: 23, target: `ext:${EXT}/patient-birthPlace`, type: 'ST-address' },
  { field: 24, target: 'multipleBirthBoolean', type: 'boolean', when: (pid) => !pid.get(25) },
  { field: 25, target: 'multipleBirthInteger', type: 'integer' },
  { field: 26, target: `ext:${EXT}/patient-citizenship`, type: 'CWE', sub: 'code' },
  { field: 28, target: `ext:${EXT}/patient-nationality`, type: 'CWE', sub: 'code' },
  { field: 29, target: 'deceasedDateTime', type: 'dateTime' },
  { field: 30, target: 'deceasedBoolean', type: 'boolean', when: (pid: V2Segment) => !pid.get(29) },
  { field: 40, target: 'telecom[]', type: 'XTN' },
];

/** PD1[Patient] (IG `segments/PD1-to-Patient.csv`); PD1-4 (the primary care provider) is mapped with the practitioners. */
export const PD1_RULES: readonly FieldRule[] = [
  { field: 6, target: `ext:${EXT}/patient-disability`, type: 'CWE' },
];

/** NK1[Patient] (IG `segments/NK1-to-Patient.csv`): one `Patient.contact` per NK1. */
export const NK1_RULES: readonly FieldRule[] = [
  { field: 2, target: 'name', type: 'XPN' },
  { field: 3, target: 'relationship[]', type: 'CWE', vocab: 'Relationship' },
  { field: 4, target: 'address', type: 'XAD' },
  { field: 5, target: 'telecom[]', type: 'XTN' },
  { field: 6, target: 'telecom[]', type: 'XTN', defaults: { use: 'work' } },
  { field: 7, target: 'relationship[]', type: 'CWE', vocab: 'ContactRole' },
  { field: 15, target: 'gender', type: 'code', vocab: 'AdministrativeSex' },
  { field: 40, target: 'telecom[]', type: 'XTN' },
  { field: 41, target: 'telecom[]', type: 'XTN' },
];
