import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Validator } from '../../src/validation/validator.js';
import { buildValidator, example } from './support.js';

type Json = Record<string, any>;
type Expected = [OperationOutcomeIssue['code'], string] | ['warning', OperationOutcomeIssue['code'], string];

interface Case {
  name: string;
  /** A valid official example: [type, id]. */
  base: [string, string];
  mutate: (r: Json) => void;
  /** Every issue expected, as [code, expression] (errors) or ['warning', code, expression]. */
  expected: Expected[];
}

const patient: [string, string] = ['Patient', 'example'];
const medrx: [string, string] = ['MedicationRequest', 'medrx0301'];
const appointment: [string, string] = ['Appointment', 'example'];
const repeat = (r: Json): Json => r.dosageInstruction[0].timing.repeat;

const CASES: Case[] = [
  // Structure and datatype formats (JSON schema)
  { name: 'unknown element', base: patient, mutate: (r) => (r.foo = 1), expected: [['structure', 'Patient.foo']] },
  { name: 'unknown nested element', base: patient, mutate: (r) => (r.name[0].nickname = 'Jim'), expected: [['structure', 'Patient.name[0].nickname']] },
  { name: 'unknown choice variant', base: patient, mutate: (r) => (r.deceasedString = 'yes'), expected: [['structure', 'Patient.deceasedString']] },
  { name: 'bad date format', base: patient, mutate: (r) => (r.birthDate = '1974-13-01'), expected: [['value', 'Patient.birthDate']] },
  { name: 'impossible calendar date', base: patient, mutate: (r) => (r.birthDate = '2021-02-30'), expected: [['value', 'Patient.birthDate']] },
  { name: 'dateTime with time but no zone', base: patient, mutate: (r) => (r.name[0].period = { start: '2020-01-01T10:00:00' }), expected: [['value', 'Patient.name[0].period.start']] },
  { name: 'bad id', base: patient, mutate: (r) => (r.id = 'not an id!'), expected: [['value', 'Patient.id']] },
  { name: 'wrong JSON type', base: patient, mutate: (r) => (r.active = 'yes'), expected: [['structure', 'Patient.active']] },
  { name: 'array where single value', base: patient, mutate: (r) => (r.active = [true]), expected: [['structure', 'Patient.active']] },
  { name: 'single value where array', base: patient, mutate: (r) => (r.name = { family: 'Chalmers' }), expected: [['structure', 'Patient.name']] },
  { name: 'string where a complex type belongs', base: patient, mutate: (r) => (r.name = ['Peter Chalmers']), expected: [['structure', 'Patient.name[0]']] },
  { name: 'wrong type inside a repeating primitive', base: patient, mutate: (r) => (r.name[0].given[1] = 5), expected: [['structure', 'Patient.name[0].given[1]']] },
  { name: 'uri given as a number', base: patient, mutate: (r) => (r.identifier[0].system = 42), expected: [['structure', 'Patient.identifier[0].system']] },
  { name: 'positiveInt of 0', base: medrx, mutate: (r) => (repeat(r).frequency = 0), expected: [['value', 'MedicationRequest.dosageInstruction[0].timing.repeat.frequency']] },
  { name: 'fraction in a choice-type integer', base: patient, mutate: (r) => (r.multipleBirthInteger = 1.5), expected: [['value', 'Patient.multipleBirth.ofType(integer)']] },
  { name: 'decimal given as a string', base: medrx, mutate: (r) => (repeat(r).period = '4'), expected: [['structure', 'MedicationRequest.dosageInstruction[0].timing.repeat.period']] },
  { name: 'primitive companion not an object', base: patient, mutate: (r) => (r._birthDate = 'x'), expected: [['structure', 'Patient.birthDate']] },
  { name: 'unknown element in a contained resource', base: medrx, mutate: (r) => (r.contained[0].foo = true), expected: [['structure', 'MedicationRequest.contained[0].foo']] },
  { name: 'unknown contained resource type', base: medrx, mutate: (r) => (r.contained[0].resourceType = 'Potion'), expected: [['structure', 'MedicationRequest.contained[0].resourceType']] },

  // Cardinality (from the snapshots)
  { name: 'Patient.communication.language missing', base: patient, mutate: (r) => (r.communication = [{ preferred: true }]), expected: [['required', 'Patient.communication[0].language']] },
  {
    name: 'MedicationRequest status, intent and subject missing',
    base: medrx,
    mutate: (r) => ['status', 'intent', 'subject'].forEach((k) => delete r[k]),
    expected: [['required', 'MedicationRequest.status'], ['required', 'MedicationRequest.intent'], ['required', 'MedicationRequest.subject']],
  },
  {
    name: 'Appointment status and participant missing',
    base: appointment,
    mutate: (r) => ['status', 'participant'].forEach((k) => delete r[k]),
    expected: [['required', 'Appointment.status'], ['required', 'Appointment.participant']],
  },
  { name: 'backbone element children missing', base: patient, mutate: (r) => (r.link = [{ extension: [{ url: 'http://example.org/x', valueString: 'y' }] }]), expected: [['required', 'Patient.link[0].other'], ['required', 'Patient.link[0].type'], ['warning', 'extension', 'Patient.link[0].extension[0]']] },
  { name: 'two types of one choice element', base: patient, mutate: (r) => Object.assign(r, { deceasedBoolean: false, deceasedDateTime: '2020-01-01' }), expected: [['structure', 'Patient.deceased.ofType(dateTime)']] },
  { name: 'extension without url', base: patient, mutate: (r) => (r.extension = [{ valueString: 'x' }]), expected: [['required', 'Patient.extension[0].url']] },
  { name: 'primitive extension without url', base: patient, mutate: (r) => (r._birthDate = { extension: [{ valueString: 'x' }] }), expected: [['required', 'Patient.birthDate.extension[0].url']] },

  // Required bindings
  { name: 'Patient.gender bloke', base: patient, mutate: (r) => (r.gender = 'bloke'), expected: [['code-invalid', 'Patient.gender']] },
  { name: 'MedicationRequest.status bogus', base: medrx, mutate: (r) => (r.status = 'bogus'), expected: [['code-invalid', 'MedicationRequest.status']] },
  { name: 'HumanName.use', base: patient, mutate: (r) => (r.name[0].use = 'alias'), expected: [['code-invalid', 'Patient.name[0].use']] },
  { name: 'ContactPoint.system', base: patient, mutate: (r) => (r.telecom[1].system = 'telegraph'), expected: [['code-invalid', 'Patient.telecom[1].system']] },
  { name: 'Identifier.use', base: patient, mutate: (r) => (r.identifier[0].use = 'primary'), expected: [['code-invalid', 'Patient.identifier[0].use']] },
  { name: 'Narrative.status', base: patient, mutate: (r) => (r.text.status = 'handwritten'), expected: [['code-invalid', 'Patient.text.status']] },
  { name: 'Timing.repeat.periodUnit', base: medrx, mutate: (r) => (repeat(r).periodUnit = 'fortnight'), expected: [['code-invalid', 'MedicationRequest.dosageInstruction[0].timing.repeat.periodUnit']] },
  { name: 'Quantity.comparator', base: medrx, mutate: (r) => (r.dispenseRequest.expectedSupplyDuration.comparator = '~'), expected: [['code-invalid', 'MedicationRequest.dispenseRequest.expectedSupplyDuration.comparator']] },
  { name: 'MIME type that does not parse', base: patient, mutate: (r) => (r.photo = [{ contentType: 'jpeg', url: 'http://example.org/p.jpg' }]), expected: [['code-invalid', 'Patient.photo[0].contentType']] },
  { name: 'binding inside a contained resource', base: medrx, mutate: (r) => (r.contained[0].status = 'expired'), expected: [['code-invalid', 'MedicationRequest.contained[0].status']] },
  { name: 'Appointment.participant.status', base: appointment, mutate: (r) => (r.participant[0].status = 'maybe'), expected: [['code-invalid', 'Appointment.participant[0].status']] },
  { name: 'Consent.status', base: ['Consent', 'consent-example-basic'], mutate: (r) => (r.status = 'signed'), expected: [['code-invalid', 'Consent.status']] },
  { name: 'AuditEvent.action', base: ['AuditEvent', 'example'], mutate: (r) => (r.action = 'X'), expected: [['code-invalid', 'AuditEvent.action']] },

  // Invariants (FHIRPath, and the natively checked ele-1/ext-1/dom-3)
  { name: 'pat-1', base: patient, mutate: (r) => (r.contact = [{ gender: 'female' }]), expected: [['invariant', 'Patient.contact[0]']] },
  { name: 'app-3', base: appointment, mutate: (r) => ['start', 'end'].forEach((k) => delete r[k]), expected: [['invariant', 'Appointment']] },
  // A booked appointment with a start but no end breaks app-2 and app-3 alike.
  { name: 'app-2', base: appointment, mutate: (r) => delete r.end, expected: [['invariant', 'Appointment'], ['invariant', 'Appointment']] },
  { name: 'per-1 on a Period', base: patient, mutate: (r) => (r.name[0].period = { start: '2020-02-01', end: '2020-01-01' }), expected: [['invariant', 'Patient.name[0].period']] },
  { name: 'cpt-2', base: patient, mutate: (r) => delete r.telecom[1].system, expected: [['invariant', 'Patient.telecom[1]']] },
  { name: 'tim-1', base: medrx, mutate: (r) => (repeat(r).duration = 5), expected: [['invariant', 'MedicationRequest.dosageInstruction[0].timing.repeat']] },
  { name: 'mdd-1', base: ['MedicationDispense', 'meddisp0301'], mutate: (r) => Object.assign(r, { whenPrepared: '2015-01-16T07:13:00+05:00', whenHandedOver: '2015-01-15T07:13:00+05:00' }), expected: [['invariant', 'MedicationDispense']] },
  { name: 'ref-1', base: patient, mutate: (r) => (r.managingOrganization = { reference: '#nowhere' }), expected: [['invariant', 'Patient.managingOrganization']] },
  { name: 'txt-1 (htmlChecks)', base: patient, mutate: (r) => (r.text.div = '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>'), expected: [['invariant', 'Patient.text.div']] }, // txt-1 only: the div has content, so txt-2 holds (issue 20)
  { name: 'ele-1', base: patient, mutate: (r) => (r.name[1] = { id: 'n1' }), expected: [['invariant', 'Patient.name[1]']] },
  { name: 'empty object (no ele-1: JSON has no {})', base: patient, mutate: (r) => (r.name[1] = {}), expected: [['structure', 'Patient.name[1]']] },
  { name: 'ext-1', base: patient, mutate: (r) => (r.extension = [{ url: 'http://example.org/x', valueString: 'a', extension: [{ url: 'y', valueInteger: 1 }] }]), expected: [['invariant', 'Patient.extension[0]'], ['warning', 'extension', 'Patient.extension[0]']] },
  { name: 'dom-3', base: medrx, mutate: (r) => (r.medicationReference = { reference: 'Medication/med0310' }), expected: [['invariant', 'MedicationRequest.contained[0]']] },
  { name: 'dom-6 is a warning', base: patient, mutate: (r) => delete r.text, expected: [['warning', 'invariant', 'Patient']] },

  // Several problems at once: all are reported, none hides another.
  {
    name: 'multiple issues',
    base: patient,
    mutate: (r) => Object.assign(r, { foo: 1, gender: 'bloke', birthDate: '1974-13-01', communication: [{}], contact: [{ gender: 'male' }] }),
    expected: [['structure', 'Patient.foo'], ['value', 'Patient.birthDate'], ['code-invalid', 'Patient.gender'], ['structure', 'Patient.communication[0]'], ['required', 'Patient.communication[0].language'], ['invariant', 'Patient.contact[0]']],
  },
];

const simplify = (issues: OperationOutcomeIssue[]): string[] => issues.map((i) => `${i.severity} ${i.code} ${i.expression?.join()}`).sort();
const expectedOf = (c: Case): string[] => c.expected.map((e) => (e.length === 3 ? `${e[0]} ${e[1]} ${e[2]}` : `error ${e[0]} ${e[1]}`)).sort();

let validator: Validator;
beforeAll(async () => {
  validator = await buildValidator();
});

describe('negative cases', () => {
  it.each(CASES.map((c) => [c.name, c]))('%s', async (_name, c) => {
    const resource = example(...c.base);
    c.mutate(resource);
    const issues = await validator.validate(resource as never);
    expect(simplify(issues)).toEqual(expectedOf(c));
    for (const issue of issues) {
      expect(issue.diagnostics, 'every issue explains itself').toMatch(/\w+ .*\w/);
      expect(issue.expression).toHaveLength(1);
    }
  });

  it('names the constraint and its human text', async () => {
    const resource = example('Patient', 'example');
    resource.contact = [{ gender: 'female' }];
    const [issue] = await validator.validate(resource as never);
    expect(issue.diagnostics).toBe("pat-1: SHALL at least contain a contact's details or a reference to an organization");
  });

  it('rejects types the server does not serve', async () => {
    const issues = await validator.validate({ resourceType: 'Observation', status: 'final', code: { text: 'x' } } as never);
    expect(simplify(issues)).toEqual(['error not-supported Observation']);
  });

  it('leaves the resource untouched', async () => {
    const resource = example('MedicationRequest', 'medrx0301');
    resource.meta = { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-medicationrequest'] };
    const before = structuredClone(resource);
    await validator.validate(resource as never);
    expect(resource).toStrictEqual(before);
  });

  it('accepts a null in a primitive array paired with an extension', async () => {
    const resource = example('Patient', 'example');
    resource.name = [{ family: 'Chalmers', given: [null, 'Jim'], _given: [{ extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/rendered-value', valueString: 'P' }] }, null] }];
    expect(await validator.validate(resource as never)).toEqual([]);
  });
});
