import { describe, expect, it } from 'vitest';
import { describeScope, durationWords, resourceWords } from '../../src/auth/scope-words.js';

describe('scopes in plain words (consent page, portal)', () => {
  const cases: Array<[scope: string, ownRecord: boolean, words: string | undefined]> = [
    ['patient/MedicationRequest.rs', true, 'see your prescriptions'],
    ['patient/MedicationRequest.read', false, "see this patient's prescriptions"],
    ['patient/*.rs', true, 'see all your health data'],
    ['patient/*.cruds', false, "see, add to, change and delete all this patient's health data"],
    ['patient/Consent.cruds', true, 'see, add to, change and delete your privacy choices (who may see the record)'],
    ['patient/Observation.rs?category=laboratory', true, 'see your observations and test results (only those where category is laboratory)'],
    ['user/*.rs', false, 'see all health data of the patients you may see'],
    ['user/MedicationRequest.cruds', false, 'see, add to, change and delete prescriptions of the patients you may see'],
    ['patient/Appointment.s', true, 'search your appointments'],
    ['patient/Appointment.cu', true, 'add to and change your appointments'],
    ['offline_access', true, 'keep access after you close it, until you revoke it'],
    ['online_access', true, 'keep access while you stay signed in'],
    ['launch', true, undefined],
    ['launch/patient', true, undefined],
    ['openid', true, 'know who you are (your user id)'],
  ];
  it.each(cases)('%s (own record: %s)', (scope, ownRecord, words) => {
    expect(describeScope(scope, { ownRecord })).toBe(words);
  });

  it('names types without a word of their own from their type name', () => {
    expect(resourceWords('RiskAssessment')).toBe('risk assessment records');
  });

  it.each([
    [['offline_access'], /^Until you revoke it/],
    [['online_access'], /^While you stay signed in/],
    [['openid'], /^One hour/],
  ])('duration of %j', (scopes, words) => {
    expect(durationWords(scopes)).toMatch(words);
  });
});
