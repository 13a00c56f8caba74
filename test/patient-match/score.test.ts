import type { Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { fold, scoreMatch } from '../../src/patient-match/score.js';

/** The scoring table of README "Patient matching and merge", case by case. */
const MRN_A = 'urn:hosp:a';
const MRN_B = 'urn:hosp:b';
const base: Patient = { resourceType: 'Patient', identifier: [{ system: MRN_A, value: '1' }], name: [{ family: 'García', given: ['Ana', 'María'] }], birthDate: '1980-02-03', gender: 'female' };
const p = (fields: Partial<Patient>): Patient => ({ resourceType: 'Patient', ...fields });

describe('scoreMatch', () => {
  it.each([
    ['everything agrees', base, 1, 'certain', ['identifier', 'birthDate', 'family', 'given', 'gender']],
    ['identifier, birth date and family', p({ identifier: base.identifier, name: [{ family: 'garcia' }], birthDate: base.birthDate }), 0.85, 'certain', ['identifier', 'birthDate', 'family']],
    ['identifier and birth date', p({ identifier: base.identifier, birthDate: base.birthDate }), 0.7, 'probable', ['identifier', 'birthDate']],
    ['identifier alone', p({ identifier: base.identifier }), 0.5, 'possible', ['identifier']],
    ['another hospital, demographics alone', p({ identifier: [{ system: MRN_B, value: '1' }], name: [{ family: 'GARCIA', given: ['maria'] }], birthDate: base.birthDate, gender: 'female' }), 0.5, 'possible', ['birthDate', 'family', 'given', 'gender']],
    ['same value in another system is no identifier match', p({ identifier: [{ system: MRN_B, value: '1' }], birthDate: base.birthDate }), 0.2, undefined, ['birthDate']],
    ['another MRN in the same system', p({ identifier: [{ system: MRN_A, value: '2' }], name: base.name, birthDate: base.birthDate, gender: 'female' }), 0.2, undefined, ['identifierConflict', 'birthDate', 'family', 'given', 'gender']],
    ['identifier but another birth date and gender', p({ identifier: base.identifier, name: base.name, birthDate: '1990-01-01', gender: 'male' }), 0.45, 'possible', ['identifier', 'birthDateConflict', 'family', 'given', 'genderConflict']],
    ['nothing in common', p({ name: [{ family: 'Smith' }] }), 0, undefined, []],
    ['unknown gender is no evidence', p({ identifier: base.identifier, birthDate: base.birthDate, name: base.name, gender: 'unknown' }), 0.95, 'certain', ['identifier', 'birthDate', 'family', 'given']],
  ])('%s', (_name, candidate, score, grade, evidence) => {
    expect(scoreMatch(base, { ...candidate, resourceType: 'Patient' })).toEqual({ score, grade, evidence });
  });

  it.each([
    ['Müller-Lüdenscheidt', 'mullerludenscheidt'],
    ["O'Brien", 'obrien'],
    ['  José ', 'jose'],
    [undefined, ''],
  ])('folds %s', (text, folded) => expect(fold(text)).toBe(folded));
});
