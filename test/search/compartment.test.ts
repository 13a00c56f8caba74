import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { compartmentOf, inCompartment, ownersOf, patientsNamedBy, widenedCompartment } from '../../src/search/compartment.js';
import { BASE_URL, SERVED, testIndex } from './index/support.js';

/**
 * THE Patient compartment (issue 16, item 4), as authorization, search and consent all read it:
 * which patients' compartments a resource is in, from the official CompartmentDefinition and the
 * index's own extraction (so membership is what a search filter on the same parameters finds).
 */
const index = testIndex();
const compartment = compartmentOf(r4Definitions().patientCompartment, index, SERVED);
const widened = widenedCompartment(compartment, index, SERVED);

const mr = (extra: Record<string, unknown>): Resource => ({ resourceType: 'MedicationRequest', id: 'm', status: 'active', intent: 'order', ...extra }) as Resource;
const ref = (reference: string) => ({ reference });

type Case = [label: string, resource: Resource, compartment: string[], widened: string[]];

const CASES: Case[] = [
  ['a relative subject', mr({ subject: ref('Patient/p1') }), ['p1'], ['p1']],
  ["an absolute subject on this server's base", mr({ subject: ref(`${BASE_URL}/Patient/p1`) }), ['p1'], ['p1']],
  ['a versioned subject', mr({ subject: ref('Patient/p1/_history/3') }), ['p1'], ['p1']],
  ["another server's Patient", mr({ subject: ref('https://other.example/fhir/Patient/p1') }), [], []],
  ['a Group subject', mr({ subject: ref('Group/g1') }), [], []],
  ['an intended performer (a parameter outside the compartment definition)', mr({ subject: ref('Patient/p1'), performer: ref('Patient/p2') }), ['p1'], ['p1', 'p2']],
  ['a Patient is in its own compartment', { resourceType: 'Patient', id: 'p1' }, ['p1'], ['p1']],
  ['a Patient linked to another', { resourceType: 'Patient', id: 'p2', link: [{ other: ref('Patient/p1'), type: 'seealso' }] } as Resource, ['p2', 'p1'], ['p2', 'p1']],
  ['an Appointment by participant', { resourceType: 'Appointment', status: 'proposed', participant: [{ actor: ref('Patient/p1'), status: 'accepted' }, { actor: ref('Practitioner/d1'), status: 'accepted' }] } as Resource, ['p1'], ['p1']],
  [
    "a Consent is its patient's, not its actors'",
    { resourceType: 'Consent', status: 'active', patient: ref('Patient/p1'), provision: { actor: [{ reference: ref('Patient/p3'), role: { text: 'x' } }] } } as Resource,
    ['p1'],
    ['p1'],
  ],
  ['a Practitioner belongs to no patient', { resourceType: 'Practitioner', id: 'd1' }, [], []],
];

describe('compartment membership', () => {
  it.each(CASES)('%s', (_label, resource, inOfficial, inWidened) => {
    expect(ownersOf(compartment, index, resource)).toEqual(inOfficial);
    expect(ownersOf(widened, index, resource)).toEqual(inWidened);
    for (const id of ['p1', 'p2', 'p3']) expect(inCompartment(compartment, index, resource, { type: 'Patient', id }), id).toBe(inOfficial.includes(id));
  });

  it("members are the served types the definition lists; the widened compartment adds parameters, a Consent's excepted", () => {
    expect([...compartment.members.keys()].sort()).toEqual(['Appointment', 'AuditEvent', 'Consent', 'MedicationDispense', 'MedicationRequest', 'Patient', 'Schedule']);
    expect(compartment.members.get('MedicationRequest')).toEqual(['subject']);
    expect(widened.members.get('MedicationRequest')).toEqual(['subject', 'patient', 'intended-performer', 'requester']);
    expect(widened.members.get('Consent')).toEqual(['patient']);
    expect(compartment.members.has('Practitioner')).toBe(false);
  });
});

describe('patients a resource names (the audit trail)', () => {
  it.each<[string, Resource, string[]]>([
    ['every Patient reference, at any depth', mr({ subject: ref('Patient/p1'), note: [{ authorReference: ref('Patient/p2'), text: 'x' }] }), ['p1', 'p2']],
    ['a Patient itself', { resourceType: 'Patient', id: 'p1' }, ['p1']],
    ['a Consent: only its patient', { resourceType: 'Consent', status: 'active', patient: ref('Patient/p1'), provision: { actor: [{ reference: ref('Patient/p3'), role: { text: 'x' } }] } } as Resource, ['p1']],
    ['no Patient', { resourceType: 'Practitioner', id: 'd1' }, []],
  ])('%s', (_label, resource, expected) => {
    expect(patientsNamedBy(resource)).toEqual(expected);
  });
});
