import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Consent, ConsentProvision } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { isConsentInForce } from '../../src/consent/applicable.js';
import { classifyConsents, evaluateConsents, rootType } from '../../src/consent/evaluate.js';
import { ROLE_SYSTEM, type ConsentData, type ConsentQuestion } from '../../src/consent/types.js';
import { CORPUS_DIR } from '../support/server.js';

const EXAMPLES = path.join(CORPUS_DIR, 'fhir-r4/examples/Consent');
const example = (id: string): Consent => JSON.parse(readFileSync(path.join(EXAMPLES, `Consent-consent-example-${id}.json`), 'utf8')) as Consent;

const NOW = new Date('2026-01-15T12:00:00Z');
const SCOPE = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] };

function consent(provision: ConsentProvision, extra: Partial<Consent> = {}): Consent {
  return { resourceType: 'Consent', id: 'c1', status: 'active', scope: SCOPE, category: [], patient: { reference: 'Patient/p1' }, provision, ...extra };
}

function ask(over: Partial<Omit<ConsentQuestion, 'data'>> & { data?: ConsentData } = {}): ConsentQuestion {
  return { actor: ['Practitioner/dr1'], roles: ['practitioner'], actions: ['access'], purposeOfUse: [], data: {}, now: NOW, ...over };
}

const obs: ConsentData = {
  reference: 'Observation/o1',
  resourceType: 'Observation',
  codes: [{ system: 'http://loinc.org', code: '718-7' }],
  securityLabels: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }],
  date: '2020-03-01',
};

const actor = (reference: string) => ({ role: { coding: [{ code: 'PRCP' }] }, reference: { reference } });
const denyDr1: ConsentProvision = { type: 'deny', actor: [actor('Practitioner/dr1')] };

describe('consent provisions (R4 consent.html#provision)', () => {
  const cases: Array<[string, ConsentProvision, ConsentQuestion, 'permit' | 'deny']> = [
    ['deny by actor reference', denyDr1, ask(), 'deny'],
    ['deny of another actor does not apply', denyDr1, ask({ actor: ['Practitioner/dr2'] }), 'permit'],
    ['deny by FhirGate role', { type: 'deny', actor: [{ role: { coding: [{ system: ROLE_SYSTEM, code: 'pharmacist' }] }, reference: { reference: 'Group/any' } }] }, ask({ roles: ['pharmacist'], actor: ['Practitioner/ph'] }), 'deny'],
    ['deny only for the listed action', { ...denyDr1, action: [{ coding: [{ code: 'correct' }] }] }, ask(), 'permit'],
    ['deny for the listed action', { ...denyDr1, action: [{ coding: [{ code: 'access' }] }] }, ask(), 'deny'],
    ['deny for a purpose not asked', { ...denyDr1, purpose: [{ code: 'HRESCH' }] }, ask({ purposeOfUse: ['TREAT'] }), 'permit'],
    ['deny for the purpose asked', { ...denyDr1, purpose: [{ code: 'HRESCH' }] }, ask({ purposeOfUse: ['HRESCH'] }), 'deny'],
    ['deny of a class (resource type)', { type: 'deny', class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }] }, ask({ data: obs }), 'deny'],
    ['deny of another class', { type: 'deny', class: [{ code: 'MedicationRequest' }] }, ask({ data: obs }), 'permit'],
    ['deny of a code', { type: 'deny', code: [{ coding: [{ system: 'http://loinc.org', code: '718-7' }] }] }, ask({ data: obs }), 'deny'],
    ['deny of a security label', { type: 'deny', securityLabel: [{ code: 'PSY' }] }, ask({ data: obs }), 'deny'],
    ['deny of another security label', { type: 'deny', securityLabel: [{ code: 'SEX' }] }, ask({ data: obs }), 'permit'],
    ['deny of a data period that covers the data', { type: 'deny', dataPeriod: { start: '2020-01-01', end: '2020-12-31' } }, ask({ data: obs }), 'deny'],
    ['deny of a data period that does not', { type: 'deny', dataPeriod: { start: '2021-01-01' } }, ask({ data: obs }), 'permit'],
    ['deny of one resource', { type: 'deny', data: [{ meaning: 'instance', reference: { reference: 'Observation/o1' } }] }, ask({ data: obs }), 'deny'],
    ['deny of another resource', { type: 'deny', data: [{ meaning: 'instance', reference: { reference: 'Observation/o2' } }] }, ask({ data: obs }), 'permit'],
    ['deny all, permit dr1 (exception)', { type: 'deny', provision: [{ type: 'permit', actor: [actor('Practitioner/dr1')] }] }, ask(), 'permit'],
    ['deny all, permit dr1: dr2 denied', { type: 'deny', provision: [{ type: 'permit', actor: [actor('Practitioner/dr1')] }] }, ask({ actor: ['Practitioner/dr2'] }), 'deny'],
    [
      'deepest provision wins: deny > permit dr1 > deny PSY',
      { type: 'deny', provision: [{ type: 'permit', actor: [actor('Practitioner/dr1')], provision: [{ type: 'deny', securityLabel: [{ code: 'PSY' }] }] }] },
      ask({ data: obs }),
      'deny',
    ],
    ['expired nested provision does not apply', { type: 'deny', provision: [{ type: 'permit', period: { end: '2025-01-01' }, actor: [actor('Practitioner/dr1')] }] }, ask(), 'deny'],
    ['strict: a data condition without data is not met', { type: 'deny', securityLabel: [{ code: 'PSY' }] }, ask(), 'permit'],
  ];
  it.each(cases)('%s', (_name, provision, question, expected) => {
    expect(evaluateConsents([consent(provision)], question, { defaultPolicy: 'opt-out' }).decision).toBe(expected);
  });

  it('names the deciding Consent, or the default', () => {
    expect(evaluateConsents([consent(denyDr1)], ask(), { defaultPolicy: 'opt-out' })).toEqual({ decision: 'deny', consent: 'Consent/c1', byDefault: false });
    expect(evaluateConsents([], ask(), { defaultPolicy: 'opt-out' })).toEqual({ decision: 'permit', byDefault: true });
    expect(evaluateConsents([], ask(), { defaultPolicy: 'opt-in' })).toEqual({ decision: 'deny', byDefault: true });
  });

  it('opt-in needs a permit; deny overrides permit across Consents', () => {
    const permitDr1 = consent({ type: 'permit', actor: [actor('Practitioner/dr1')] }, { id: 'p' });
    expect(evaluateConsents([permitDr1], ask(), { defaultPolicy: 'opt-in' }).decision).toBe('permit');
    expect(evaluateConsents([permitDr1], ask({ actor: ['Practitioner/dr2'] }), { defaultPolicy: 'opt-in' }).decision).toBe('deny');
    const both = evaluateConsents([permitDr1, consent(denyDr1, { id: 'd' })], ask(), { defaultPolicy: 'opt-in' });
    expect(both).toEqual({ decision: 'deny', consent: 'Consent/d', byDefault: false });
  });

});

describe('classifying a search question, before its data is read', () => {
  const type = (resourceType: string) => ask({ data: { resourceType } });
  const cases: Array<[string, ConsentProvision, ConsentQuestion, 'permit' | 'deny' | 'depends']> = [
    ['a deny of the actor decides the whole type', denyDr1, type('Observation'), 'deny'],
    ['a deny of another actor decides nothing is withheld', denyDr1, ask({ actor: ['Practitioner/dr2'], data: { resourceType: 'Observation' } }), 'permit'],
    ['a deny of another class decides the type is permitted', { type: 'deny', class: [{ code: 'MedicationRequest' }] }, type('Observation'), 'permit'],
    ['a deny of this class decides it is withheld', { type: 'deny', class: [{ code: 'Observation' }] }, type('Observation'), 'deny'],
    ['a deny of a code depends on each resource', { ...denyDr1, code: [{ coding: [{ code: 'x' }] }] }, type('Observation'), 'depends'],
    ['a deny of a security label depends on each resource', { type: 'deny', securityLabel: [{ code: 'PSY' }] }, type('Observation'), 'depends'],
    ['a deny of a data period depends on each resource', { type: 'deny', dataPeriod: { start: '2020-01-01' } }, type('Observation'), 'depends'],
    ['a deny of one instance depends on each resource', { type: 'deny', data: [{ meaning: 'instance', reference: { reference: 'Observation/o1' } }] }, type('Observation'), 'depends'],
    ['a class naming a profile depends on each resource', { type: 'deny', class: [{ code: 'http://example.org/StructureDefinition/sensitive' }] }, type('Observation'), 'depends'],
    ['a code condition under a provision of another actor is never reached', { ...denyDr1, code: [{ coding: [{ code: 'x' }] }] }, ask({ actor: ['Practitioner/dr2'], data: { resourceType: 'Observation' } }), 'permit'],
    ['a nested exception on a code depends', { ...denyDr1, provision: [{ type: 'permit', code: [{ coding: [{ code: 'x' }] }] }] }, type('Observation'), 'depends'],
    ['a nested deny of another class is decided', { type: 'permit', provision: [{ type: 'deny', class: [{ code: 'MedicationRequest' }] }] }, type('Observation'), 'permit'],
    ['a whole-record question depends on any class condition', { type: 'deny', class: [{ code: 'Observation' }] }, ask(), 'depends'],
  ];
  it.each(cases)('%s', (_name, provision, question, expected) => {
    const answer = classifyConsents([consent(provision)], question, 'opt-out');
    expect(answer.kind === 'depends' ? 'depends' : answer.decision.decision).toBe(expected);
  });

  it('is never decided against what a resource of the type gets', () => {
    // Soundness: whenever the classification is decided, every resource's own decision agrees.
    const resources = [obs, { ...obs, codes: [], securityLabels: [], date: undefined }, { ...obs, reference: 'Observation/o2', date: '2024-01-01' }];
    for (const [, provision, question] of cases) {
      const answer = classifyConsents([consent(provision)], question, 'opt-out');
      if (answer.kind === 'depends' || question.data.resourceType !== 'Observation') continue;
      for (const data of resources) expect(evaluateConsents([consent(provision)], { ...question, data }, { defaultPolicy: 'opt-out' }).decision).toBe(answer.decision.decision);
    }
  });
});

describe('Consents in force', () => {
  const cases: Array<[string, Consent, boolean]> = [
    ['active patient-privacy', consent({}), true],
    ['proposed', consent({}, { status: 'proposed' }), false],
    ['rejected', consent({}, { status: 'rejected' }), false],
    ['inactive (revoked)', consent({}, { status: 'inactive' }), false],
    ['other scope', consent({}, { scope: { coding: [{ code: 'research' }] } }), false],
    ['another patient', consent({}, { patient: { reference: 'Patient/p2' } }), false],
    ['issued in the future', consent({}, { dateTime: '2027-01-01' }), false],
    ['period over', consent({ period: { start: '2020-01-01', end: '2025-12-31' } }), false],
    ['period ends today (whole day covered)', consent({ period: { end: '2026-01-15' } }), true],
    ['period not started', consent({ period: { start: '2026-02' } }), false],
  ];
  it.each(cases)('%s', (_name, c, expected) => expect(isConsentInForce(c, 'Patient/p1', NOW)).toBe(expected));
});

describe('the official R4 Consent examples', () => {
  const at = (iso: string) => new Date(iso);
  const org = (over: Partial<ConsentQuestion> = {}) => ask({ actor: ['Organization/f001'], roles: [], ...over });

  it('all are active patient-privacy Consents', () => {
    for (const id of ['Emergency', 'Out', 'basic', 'grantor', 'notAuthor', 'notOrg', 'notThem', 'notThis', 'notTime', 'pkb', 'signature', 'smartonfhir']) {
      const c = example(id);
      expect(isConsentInForce(c, c.patient!.reference!, at('2016-07-01')) || c.provision?.period !== undefined).toBe(true);
    }
  });

  it('Out (OPTOUT): Organization/f001 is denied, others fall to the default', () => {
    const c = example('Out');
    expect(rootType(c)).toBe('deny');
    expect(evaluateConsents([c], org(), { defaultPolicy: 'opt-out' }).decision).toBe('deny');
    expect(evaluateConsents([c], ask(), { defaultPolicy: 'opt-out' })).toMatchObject({ decision: 'permit', byDefault: true });
  });

  it('notOrg: explicit deny of access and correction to Organization/f001', () => {
    const c = example('notOrg');
    expect(evaluateConsents([c], org(), { defaultPolicy: 'opt-out' }).decision).toBe('deny');
    expect(evaluateConsents([c], org({ actions: ['disclose'] }), { defaultPolicy: 'opt-out' }).byDefault).toBe(true);
  });

  it('Emergency: the clinic is denied, with ETREAT on the root purpose', () => {
    const c = example('Emergency');
    expect(evaluateConsents([c], org({ purposeOfUse: ['ETREAT'] }), { defaultPolicy: 'opt-out' }).decision).toBe('deny');
    // Without the root's purpose the Consent does not apply at all.
    expect(evaluateConsents([c], org(), { defaultPolicy: 'opt-out' }).byDefault).toBe(true);
  });

  it('notThis: the one Task is covered, other data is not', () => {
    const c = example('notThis');
    const task = { reference: 'Task/example3', resourceType: 'Task' };
    expect(evaluateConsents([c], ask({ data: task }), { defaultPolicy: 'opt-in' })).toMatchObject({ decision: 'permit', consent: 'Consent/consent-example-notThis' });
    expect(evaluateConsents([c], ask({ data: { reference: 'Task/other' } }), { defaultPolicy: 'opt-in' }).byDefault).toBe(true);
  });

  it('notTime and basic: the period limits when the Consent is in force', () => {
    // notTime was issued (2015-11-18) after its period ended (2015-02-01): never in force.
    expect(isConsentInForce(example('notTime'), 'Patient/f001', at('2015-01-15'))).toBe(false);
    expect(isConsentInForce({ ...example('notTime'), dateTime: '2014-12-01' }, 'Patient/f001', at('2015-01-15'))).toBe(true);
    expect(isConsentInForce(example('notTime'), 'Patient/f001', at('2015-03-01'))).toBe(false);
    expect(isConsentInForce(example('basic'), 'Patient/f001', NOW)).toBe(false);
  });

  it('smartonfhir: MedicationRequest access within the half hour only', () => {
    const c = example('smartonfhir');
    const inside = at('2016-06-23T07:10:00Z');
    expect(isConsentInForce(c, 'Patient/xcda', inside)).toBe(true);
    expect(isConsentInForce(c, 'Patient/xcda', at('2016-06-23T08:00:00Z'))).toBe(false);
    const q = ask({ now: inside, data: { resourceType: 'MedicationRequest' } });
    expect(evaluateConsents([c], q, { defaultPolicy: 'opt-in' }).decision).toBe('permit');
  });

  it('signature: Practitioner/13 is permitted within the period, others are not', () => {
    const c = example('signature');
    const now = at('2016-06-01');
    expect(evaluateConsents([c], ask({ actor: ['Practitioner/13'], now }), { defaultPolicy: 'opt-in' }).decision).toBe('permit');
    expect(evaluateConsents([c], ask({ now }), { defaultPolicy: 'opt-in' }).decision).toBe('deny');
  });

  it('pkb (OPTOUT): the root covers normal (N) data only, so Organization/f001 is denied N data', () => {
    const c = example('pkb');
    const decide = (code: string) => evaluateConsents([c], org({ data: { securityLabels: [{ code }] } }), { defaultPolicy: 'opt-out' });
    expect(decide('N')).toMatchObject({ decision: 'deny', consent: 'Consent/consent-example-pkb' });
    // The nested PSY/SPI/SEX provisions sit under the N-only root, so they can never match on their own.
    expect(decide('PSY').byDefault).toBe(true);
  });
});
