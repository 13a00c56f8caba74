import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Validator } from '../../src/validation/validator.js';
import { buildValidator, example, fixture } from './support.js';

type Json = Record<string, any>;

const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition/';
const FHIRGATE = 'https://fhirgate.dev/StructureDefinition/';
const PROFILES = {
  usCorePatient: `${US_CORE}us-core-patient`,
  usCoreMedicationRequest: `${US_CORE}us-core-medicationrequest`,
  practitioner: `${FHIRGATE}fhirgate-practitioner`,
  dispense: `${FHIRGATE}fhirgate-medicationdispense`,
  consent: `${FHIRGATE}fhirgate-consent`,
  audit: `${FHIRGATE}fhirgate-auditevent`,
  appointment: `${FHIRGATE}fhirgate-appointment`,
};

/** An official example claiming a profile. */
function claiming(profile: string, type: string, id: string): Json {
  return { ...example(type, id), meta: { profile: [profile] } };
}

const VALID: Array<[string, () => Json]> = [
  ['US Core Patient (race, ethnicity, birth sex)', () => fixture('us-core-patient.json')],
  ['US Core MedicationRequest', () => claiming(PROFILES.usCoreMedicationRequest, 'MedicationRequest', 'medrx0301')],
  ['FhirGate Practitioner', () => claiming(PROFILES.practitioner, 'Practitioner', 'example')],
  ['FhirGate MedicationDispense', () => claiming(PROFILES.dispense, 'MedicationDispense', 'meddisp0301')],
  ['FhirGate Consent', () => claiming(PROFILES.consent, 'Consent', 'consent-example-basic')],
  ['FhirGate AuditEvent', () => claiming(PROFILES.audit, 'AuditEvent', 'example')],
  ['FhirGate Appointment', () => claiming(PROFILES.appointment, 'Appointment', 'example')],
];

interface Case {
  name: string;
  resource: () => Json;
  mutate: (r: Json) => void;
  expected: Array<[OperationOutcomeIssue['code'], string]>;
}

const race = (r: Json): Json => r.extension[0];

const CASES: Case[] = [
  { name: 'US Core Patient: gender and identifier required', resource: () => fixture('us-core-patient.json'), mutate: (r) => ['gender', 'identifier'].forEach((k) => delete r[k]), expected: [['required', 'Patient.gender'], ['required', 'Patient.identifier']] },
  { name: 'US Core Patient: identifier.system required', resource: () => fixture('us-core-patient.json'), mutate: (r) => delete r.identifier[0].system, expected: [['required', 'Patient.identifier[0].system']] },
  { name: 'US Core Patient: us-core-6 (a name with given or family)', resource: () => fixture('us-core-patient.json'), mutate: (r) => (r.name = [{ text: 'Amy Shaw' }]), expected: [['invariant', 'Patient']] },
  { name: 'US Core race: OMB category outside its value set', resource: () => fixture('us-core-patient.json'), mutate: (r) => (race(r).extension[0].valueCoding.code = '2131-1'), expected: [['code-invalid', 'Patient.extension[0].extension[0].value.ofType(Coding)']] },
  { name: 'US Core race: text slice required', resource: () => fixture('us-core-patient.json'), mutate: (r) => race(r).extension.pop(), expected: [['required', 'Patient.extension[0].extension']] },
  { name: 'US Core race: OMB category must be a Coding', resource: () => fixture('us-core-patient.json'), mutate: (r) => (race(r).extension[0] = { url: 'ombCategory', valueCode: '2106-3' }), expected: [['value', 'Patient.extension[0].extension[0].value.ofType(code)']] },
  { name: 'US Core race: no value of its own', resource: () => fixture('us-core-patient.json'), mutate: (r) => (race(r).valueString = 'White'), expected: [['invariant', 'Patient.extension[0]'], ['invariant', 'Patient.extension[0].value.ofType(string)']] },
  { name: 'US Core race: at most one race extension', resource: () => fixture('us-core-patient.json'), mutate: (r) => r.extension.push(structuredClone(race(r))), expected: [['invariant', 'Patient.extension[3]']] },
  { name: 'US Core birth sex outside its value set', resource: () => fixture('us-core-patient.json'), mutate: (r) => (r.extension[2].valueCode = 'X'), expected: [['code-invalid', 'Patient.extension[2].value.ofType(code)']] },
  { name: 'US Core MedicationRequest: requester required', resource: () => claiming(PROFILES.usCoreMedicationRequest, 'MedicationRequest', 'medrx0301'), mutate: (r) => delete r.requester, expected: [['required', 'MedicationRequest.requester']] },
  { name: 'US Core MedicationRequest: subject must be a Patient', resource: () => claiming(PROFILES.usCoreMedicationRequest, 'MedicationRequest', 'medrx0301'), mutate: (r) => (r.subject = { reference: 'Group/g1' }), expected: [['value', 'MedicationRequest.subject']] },
  { name: 'FhirGate Practitioner: identifier system and family name', resource: () => claiming(PROFILES.practitioner, 'Practitioner', 'example'), mutate: (r) => { delete r.identifier[0].system; r.name = [{ given: ['Adam'] }]; }, expected: [['required', 'Practitioner.identifier[0].system'], ['required', 'Practitioner.name[0].family']] },
  { name: 'FhirGate MedicationDispense: subject must be a Patient', resource: () => claiming(PROFILES.dispense, 'MedicationDispense', 'meddisp0301'), mutate: (r) => (r.subject = { reference: 'Group/g1' }), expected: [['value', 'MedicationDispense.subject']] },
  { name: 'FhirGate MedicationDispense: subject and quantity required', resource: () => claiming(PROFILES.dispense, 'MedicationDispense', 'meddisp0301'), mutate: (r) => ['subject', 'quantity'].forEach((k) => delete r[k]), expected: [['required', 'MedicationDispense.subject'], ['required', 'MedicationDispense.quantity']] },
  { name: 'FhirGate MedicationDispense: fgmd-1', resource: () => claiming(PROFILES.dispense, 'MedicationDispense', 'meddisp0301'), mutate: (r) => (r.status = 'completed'), expected: [['invariant', 'MedicationDispense']] },
  { name: 'FhirGate Consent: patient-privacy scope', resource: () => claiming(PROFILES.consent, 'Consent', 'consent-example-basic'), mutate: (r) => (r.scope.coding[0].code = 'research'), expected: [['value', 'Consent.scope']] },
  { name: 'FhirGate Consent: patient and dateTime required', resource: () => claiming(PROFILES.consent, 'Consent', 'consent-example-basic'), mutate: (r) => ['patient', 'dateTime'].forEach((k) => delete r[k]), expected: [['required', 'Consent.patient'], ['required', 'Consent.dateTime']] },
  { name: 'FhirGate Consent: consent-document category slice', resource: () => claiming(PROFILES.consent, 'Consent', 'consent-example-basic'), mutate: (r) => (r.category = [{ coding: [{ system: 'http://loinc.org', code: '64292-6' }] }]), expected: [['required', 'Consent.category']] },
  { name: 'FhirGate Consent: at most one consent-document category', resource: () => claiming(PROFILES.consent, 'Consent', 'consent-example-basic'), mutate: (r) => r.category.push(structuredClone(r.category[0])), expected: [['invariant', 'Consent.category[1]']] },
  { name: 'FhirGate AuditEvent: fgae-1 and outcome', resource: () => claiming(PROFILES.audit, 'AuditEvent', 'example'), mutate: (r) => { r.agent.forEach((a: Json) => delete a.who); delete r.outcome; }, expected: [['invariant', 'AuditEvent'], ['required', 'AuditEvent.outcome']] },
  { name: 'FhirGate Appointment: fgap-1', resource: () => claiming(PROFILES.appointment, 'Appointment', 'example'), mutate: (r) => ['start', 'end'].forEach((k) => delete r[k]), expected: [['invariant', 'Appointment'], ['invariant', 'Appointment']] },
  { name: 'FhirGate Appointment: participant actor', resource: () => claiming(PROFILES.appointment, 'Appointment', 'example'), mutate: (r) => (r.participant[0] = { type: [{ text: 'Patient' }], status: 'accepted' }), expected: [['required', 'Appointment.participant[0].actor']] },
];

const errorsOf = (issues: OperationOutcomeIssue[]): string[] => issues.filter((i) => i.severity === 'error').map((i) => `${i.code} ${i.expression?.join()}`).sort();

let validator: Validator;
beforeAll(async () => {
  validator = await buildValidator();
});

describe('shipped profiles', () => {
  it('lists the resource profiles by type', () => {
    expect(Object.fromEntries(validator.supportedProfiles())).toEqual({
      Appointment: [PROFILES.appointment],
      AuditEvent: [PROFILES.audit],
      Consent: [PROFILES.consent],
      MedicationDispense: [PROFILES.dispense],
      MedicationRequest: [PROFILES.usCoreMedicationRequest],
      Patient: [PROFILES.usCorePatient],
      Practitioner: [PROFILES.practitioner],
      Schedule: ['https://fhirgate.dev/StructureDefinition/fhirgate-schedule'],
      Slot: ['https://fhirgate.dev/StructureDefinition/fhirgate-slot'],
    });
  });

  it.each(VALID)('%s: a conforming resource passes', async (_name, resource) => {
    expect(await validator.validate(resource() as never)).toEqual([]);
  });

  it.each(CASES.map((c) => [c.name, c]))('%s', async (_name, c) => {
    const resource = c.resource();
    c.mutate(resource);
    expect(errorsOf(await validator.validate(resource as never))).toEqual(c.expected.map(([code, at]) => `${code} ${at}`).sort());
  });

  it('names the profile in its messages', async () => {
    const resource = claiming(PROFILES.consent, 'Consent', 'consent-example-basic');
    delete resource.patient;
    const [issue] = await validator.validate(resource as never);
    expect(issue.diagnostics).toBe(`Missing required element Consent.patient: it is required by profile ${PROFILES.consent} (minimum cardinality 1)`);
  });
});

describe('profile claims', () => {
  it('warns about an unknown profile and still validates the base rules', async () => {
    const resource = { ...example('Patient', 'example'), gender: 'bloke', meta: { profile: ['http://example.org/StructureDefinition/unknown'] } };
    const issues = await validator.validate(resource as never);
    expect(issues.map((i) => `${i.severity} ${i.code} ${i.expression?.join()}`).sort()).toEqual(['error code-invalid Patient.gender', 'warning not-supported Patient.meta.profile[0]']);
  });

  it('accepts the core definition as a claim', async () => {
    const resource = { ...example('Patient', 'example'), meta: { profile: ['http://hl7.org/fhir/StructureDefinition/Patient'] } };
    expect(await validator.validate(resource as never)).toEqual([]);
  });

  it('ignores the version of a versioned canonical', async () => {
    const resource = fixture('us-core-patient.json');
    resource.meta.profile = [`${PROFILES.usCorePatient}|5.0.1`];
    delete resource.gender;
    expect(errorsOf(await validator.validate(resource as never))).toEqual(['required Patient.gender']);
  });

  it('rejects a profile of another type', async () => {
    const resource = claiming(PROFILES.consent, 'Patient', 'example');
    expect(errorsOf(await validator.validate(resource as never))).toEqual(['invalid Patient.meta.profile[0]']);
  });

  it('checks profiles claimed by contained resources', async () => {
    const resource = example('MedicationRequest', 'medrx0301');
    resource.contained[1].meta = { profile: ['http://example.org/StructureDefinition/unknown'] };
    const issues = await validator.validate(resource as never);
    expect(issues.map((i) => `${i.severity} ${i.expression?.join()}`)).toEqual(['warning MedicationRequest.contained[1].meta.profile[0]']);
  });
});
