import { describe, expect, it } from 'vitest';
import { GENERATED, generated, PATIENTS, RXNORM, V2_0203 } from './fixtures.js';
import { corpusIds, testIndex, describeEachStore, type Clause } from './support.js';

const index = testIndex();
const GENDER = 'http://hl7.org/fhir/administrative-gender';

type Row = Record<string, unknown>;
const genPatients = (predicate: (p: Row) => boolean): string[] => PATIENTS.filter((p) => predicate(p as unknown as Row)).map((p) => p.id as string);
const patients = (predicate: (p: Row) => boolean): string[] => [...corpusIds('Patient', predicate), ...genPatients(predicate)].sort();
const names = (p: Row): Array<Record<string, unknown>> => (p.name as Array<Record<string, unknown>> | undefined) ?? [];
const FEMALE_OR_OTHER = 'https://fhirgate.test/ValueSet/female-or-other';
const codings = (concept: unknown): Array<{ system?: string; code?: string }> => (concept as { coding?: [] } | undefined)?.coding ?? [];

/** Cases whose expected ids span the corpus and the generated resources. */
const ALL: Array<[label: string, type: string, clauses: Clause[], expected: string[]]> = [
  ['family starts-with, case-insensitive', 'Patient', [['family', undefined, ['chal']]], ['example']],
  ['family finds a maiden name', 'Patient', [['name', undefined, ['Windsor']]], ['example']],
  ['family with a space', 'Patient', [['family', undefined, ['van de']]], ['f001']],
  ['family:missing=true', 'Patient', [['family', 'missing', ['true']]], patients((p) => !names(p).some((n) => n.family))],
  ['gender=male (code only)', 'Patient', [['gender', undefined, ['male']]], patients((p) => p.gender === 'male')],
  ['gender with its implied system', 'Patient', [['gender', undefined, [`${GENDER}|female`]]], patients((p) => p.gender === 'female')],
  ['gender=|female: the stored code has an (implied) system', 'Patient', [['gender', undefined, ['|female']]], []],
  ['gender:not=male includes patients without gender', 'Patient', [['gender', 'not', ['male']]], patients((p) => p.gender !== 'male')],
  ['gender:not=male,female', 'Patient', [['gender', 'not', ['male', 'female']]], patients((p) => p.gender !== 'male' && p.gender !== 'female')],
  ['gender:missing=true', 'Patient', [['gender', 'missing', ['true']]], patients((p) => p.gender === undefined)],
  ['gender:in a value set', 'Patient', [['gender', 'in', [FEMALE_OR_OTHER]]], patients((p) => p.gender === 'female' || p.gender === 'other')],
  ['gender:not-in a value set', 'Patient', [['gender', 'not-in', [FEMALE_OR_OTHER]]], patients((p) => p.gender !== 'female' && p.gender !== 'other')],
  ['active=false', 'Patient', [['active', undefined, ['false']]], patients((p) => p.active === false)],
  ['deceased=true (boolean or date)', 'Patient', [['deceased', undefined, ['true']]], patients((p) => p.deceasedBoolean === true || !!p.deceasedDateTime)],
  ['identifier system|value', 'Patient', [['identifier', undefined, ['urn:oid:1.2.36.146.595.217.0.1|12345']]], ['example']],
  ['_id', 'Patient', [['_id', undefined, ['example', 'gen-smith', 'nope']]], ['example', 'gen-smith']],
  ['_id:not', 'Patient', [['_id', 'not', ['example']]], patients((p) => p.id !== 'example')],
  ['two parameters are AND-ed', 'Patient', [['gender', undefined, ['male']], ['family', undefined, ['lev']]], ['glossy', 'xcda']],
  ['status on MedicationRequest', 'MedicationRequest', [['status', undefined, ['on-hold']]], corpusIds('MedicationRequest', (r) => r.status === 'on-hold')],
  [
    'code system|code on a CodeableConcept',
    'MedicationRequest',
    [['code', undefined, [`${RXNORM}|1049502`]]],
    [
      ...corpusIds('MedicationRequest', (r) => codings(r.medicationCodeableConcept).some((c) => c.system === RXNORM && c.code === '1049502')),
      'gen-mr-abs',
    ].sort(),
  ],
];

/** Cases on the generated resources only. */
const GEN: Array<[label: string, type: string, clauses: Clause[], expected: string[]]> = [
  ['accents fold: muller finds Müller', 'Patient', [['family', undefined, ['muller']]], ['gen-muller']],
  ['accents fold in the search value too', 'Patient', [['family', undefined, ['MÜL']]], ['gen-muller']],
  ['starts-with covers both spellings', 'Patient', [['family', undefined, ['mu']]], ['gen-mueller', 'gen-muller']],
  ['given with a diaeresis', 'Patient', [['given', undefined, ['zoe']]], ['gen-muller']],
  [':contains', 'Patient', [['family', 'contains', ['LLER']]], ['gen-mueller', 'gen-muller']],
  [':exact is case- and accent-sensitive', 'Patient', [['family', 'exact', ['Müller']]], ['gen-muller']],
  [':exact lower-case finds nothing', 'Patient', [['family', 'exact', ['müller']]], []],
  [':exact without the accent finds nothing', 'Patient', [['family', 'exact', ['Muller']]], []],
  ['name searches given names', 'Patient', [['name', undefined, ['hans']]], ['gen-mueller']],
  ['address searches lines and city', 'Patient', [['address', undefined, ['bahnhof']]], ['gen-muller']],
  ['address-city folded', 'Patient', [['address-city', undefined, ['ZURICH']]], ['gen-muller']],
  ['regex metacharacters match literally', 'Patient', [['family', undefined, ['.*']]], []],
  ['a catastrophic pattern is just text', 'Patient', [['family', 'contains', ['(a+)+$']]], []],
  ['phonetic', 'Patient', [['phonetic', undefined, ['Smithe']]], ['gen-smith', 'gen-smyth']],
  ['identifier value only', 'Patient', [['identifier', undefined, ['M1']]], ['gen-muller', 'gen-smith']],
  ['identifier system|value', 'Patient', [['identifier', undefined, ['urn:mrn|M1']]], ['gen-muller']],
  ['identifier |value (no system)', 'Patient', [['identifier', undefined, ['|M1']]], []],
  ['identifier system|', 'Patient', [['identifier', undefined, ['urn:ssn|']]], ['gen-smith']],
  ['identifier:of-type MR', 'Patient', [['identifier', 'of-type', [`${V2_0203}|MR|M1`]]], ['gen-muller']],
  ['identifier:of-type SS', 'Patient', [['identifier', 'of-type', [`${V2_0203}|SS|M1`]]], ['gen-smith']],
  ['identifier:of-type needs the same identifier', 'Patient', [['identifier', 'of-type', [`${V2_0203}|MR|nope`]]], []],
  ['identifier:text on the type text', 'Patient', [['identifier', 'text', ['medical']]], ['gen-muller']],
  ['email (ContactPoint value)', 'Patient', [['email', undefined, ['zoe@example.org']]], ['gen-muller']],
  ['telecom', 'Patient', [['telecom', undefined, ['zoe@example.org']]], ['gen-muller']],
  ['_tag', 'Patient', [['_tag', undefined, ['urn:t|vip']]], ['gen-muller']],
  ['_profile without version finds the versioned profile', 'Patient', [['_profile', undefined, ['http://x.org/fhir/StructureDefinition/p']]], ['gen-muller']],
  ['_profile with version', 'Patient', [['_profile', undefined, ['http://x.org/fhir/StructureDefinition/p|1.0']]], ['gen-muller']],
  ['_profile:below', 'Patient', [['_profile', 'below', ['http://x.org/fhir/']]], ['gen-muller']],
  ['_profile:above', 'Patient', [['_profile', 'above', ['http://x.org/fhir/StructureDefinition/p/child']]], ['gen-muller']],
  ['_profile:below is a prefix match, not a regex', 'Patient', [['_profile', 'below', ['http://x.org/fhir/.*']]], []],
  ['code:text at a word start', 'MedicationRequest', [['code', 'text', ['oral']]], ['gen-mr-abs']],
  ['code:text on the concept text, folded', 'MedicationRequest', [['code', 'text', ['FUR KIN']]], ['gen-mr-abs']],
  ['code:text not inside a word', 'MedicationRequest', [['code', 'text', ['cetamin']]], []],
  ['code:missing=true', 'MedicationRequest', [['code', 'missing', ['true']], ['_id', undefined, ['gen-mr-abs', 'gen-mr-ext']]], ['gen-mr-ext']],
];

describeEachStore('string and token searches', index, GENERATED, (handle) => {
  describe('string and token searches over the official examples and generated resources', () => {
    it.each(ALL)('%s', async (_label, type, clauses, expected) => {
      expect(await handle.db.ids(type, ...clauses)).toEqual(expected);
    });

    it.each(GEN)('%s', async (_label, type, clauses, expected) => {
      expect(generated(await handle.db.ids(type, ...clauses))).toEqual(expected);
    });
  });
});
