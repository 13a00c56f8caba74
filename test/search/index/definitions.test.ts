import { describe, expect, it } from 'vitest';
import { r4Definitions } from '../../../src/fhir/definitions.js';
import { navigationRoot, prepareBranch, restrictToType, splitUnion } from '../../../src/search/index/expression.js';
import { createSearchIndex } from '../../../src/search/index/index.js';
import { buildParamTable, paramDefs } from '../../../src/search/index/param-table.js';
import { SERVED, testIndex } from './support.js';

const index = testIndex();
const NOT_INDEXED = ['_text', '_content', '_query', '_list', '_has', '_type'];

describe('params: every official parameter of the served types', () => {
  it.each(SERVED)('%s has all official parameters on it, Resource and DomainResource, except the specials', (type) => {
    const bases = new Set([type, 'Resource', 'DomainResource']);
    const official = new Set(r4Definitions().searchParameters.filter((sp) => sp.base?.some((b) => bases.has(b))).map((sp) => sp.code as string));
    const served = new Set(index.params(type).keys());
    for (const code of official) expect(served.has(code), code).toBe(!NOT_INDEXED.includes(code));
    for (const code of ['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source']) expect(served.has(code), code).toBe(true);
  });

  it('restricts multi-type expressions to the branch of the type', () => {
    expect(index.params('Patient').get('family')).toMatchObject({ type: 'string', resourceType: 'Patient', expression: 'Patient.name.family' });
    expect(index.params('Practitioner').get('family')?.expression).toBe('Practitioner.name.family');
    expect(index.params('MedicationRequest').get('code')?.expression).toBe('(MedicationRequest.medication as CodeableConcept)');
    expect(index.params('MedicationDispense').get('patient')).toMatchObject({
      expression: 'MedicationDispense.subject.where(resolve() is Patient)',
      target: ['Patient'],
      definition: 'http://hl7.org/fhir/SearchParameter/clinical-patient',
    });
    expect(index.params('AuditEvent').get('patient')?.expression).toBe(
      'AuditEvent.agent.who.where(resolve() is Patient) | AuditEvent.entity.what.where(resolve() is Patient)',
    );
  });

  it('answers _id and _lastUpdated from record fields (no expression)', () => {
    expect(index.params('Consent').get('_id')).toMatchObject({ type: 'token' });
    expect(index.params('Consent').get('_lastUpdated')).toMatchObject({ type: 'date' });
    expect(index.params('Consent').get('_id')?.expression).toBeUndefined();
    expect(index.params('Consent').get('_lastUpdated')?.expression).toBeUndefined();
  });

  it('includes custom definitions passed in, composites with their typed components', () => {
    expect(index.params('Appointment').get('minutes')).toMatchObject({ type: 'number', expression: 'Appointment.minutesDuration' });
    expect(index.params('Appointment').get('status-actor')).toMatchObject({
      type: 'composite',
      expression: 'Appointment.participant',
      component: [
        { code: 'part-status', type: 'token', expression: 'status' },
        { code: 'actor', type: 'reference', expression: 'actor' },
      ],
    });
  });

  it('rejects unserved types', () => {
    expect(() => index.params('Observation')).toThrow(expect.objectContaining({ code: 'unknown-type' }));
  });

  it('describes the parameters of every R4 type without compiling them, as the compiled table does (issue 13)', () => {
    const { searchParameters, structureDefinitions } = r4Definitions();
    const types = [...structureDefinitions.values()].filter((sd) => sd.kind === 'resource' && !sd.abstract).map((sd) => sd.type as string);
    expect(types.length).toBeGreaterThan(140);
    for (const type of types) {
      const compiled = new Map([...buildParamTable(searchParameters, [type]).get(type)!].map(([code, p]) => [code, p.def]));
      expect(paramDefs(searchParameters, type), type).toEqual(compiled);
    }
  });

  it('answers params() of a type before and after its table is compiled with the same definitions', () => {
    const lazy = createSearchIndex({ definitions: r4Definitions(), resourceTypes: ['Patient', 'Observation'], warmTypes: [] });
    const before = lazy.params('Observation');
    lazy.compile('Observation', 'code', undefined, ['http://loinc.org|1234-5']);
    expect(lazy.params('Observation')).toBe(before);
    expect(before.get('code')).toMatchObject({ type: 'token', expression: 'Observation.code' });
  });
});

describe('expression handling', () => {
  it.each([
    ['Patient.name | Practitioner.name', ['Patient.name', 'Practitioner.name']],
    ["Patient.telecom.where(system='a|b') | Person.telecom", ["Patient.telecom.where(system='a|b')", 'Person.telecom']],
    ['(A.x as B) | (C.y as D)', ['(A.x as B)', '(C.y as D)']],
  ])('splitUnion(%s)', (expression, branches) => {
    expect(splitUnion(expression)).toEqual(branches);
  });

  it('keeps the type, Resource and DomainResource branches', () => {
    expect(restrictToType('Patient.address | Person.address | Practitioner.address', 'Practitioner')).toEqual(['Practitioner.address']);
    expect(restrictToType('Resource.meta.tag', 'Consent')).toEqual(['Resource.meta.tag']);
    const medication = '(MedicationDispense.medication as CodeableConcept) | (MedicationRequest.medication as CodeableConcept)';
    expect(restrictToType(medication, 'MedicationRequest')).toEqual(['(MedicationRequest.medication as CodeableConcept)']);
  });

  it.each([
    [
      'Appointment.participant.actor.where(resolve() is Patient)',
      { expression: 'Appointment.participant.actor', targetType: 'Patient', rootElement: 'participant' },
    ],
    ['Patient.name.family', { expression: 'Patient.name.family', rootElement: 'name' }],
    ['(Patient.deceased as dateTime)', { expression: '(Patient.deceased as dateTime)', rootElement: 'deceased' }],
    ["Patient.telecom.where(system='email')", { expression: "Patient.telecom.where(system='email')", rootElement: 'telecom' }],
    ['Patient.deceased.exists() and Patient.deceased != false', { expression: 'Patient.deceased.exists() and Patient.deceased != false' }],
  ])('prepareBranch(%s)', (branch, prepared) => {
    expect(prepareBranch(branch)).toEqual(prepared);
  });

  it('only skips evaluation for plain navigation', () => {
    expect(navigationRoot('Resource.meta.tag')).toBe('meta');
    expect(navigationRoot('Patient.name.exists()')).toBeUndefined();
    expect(navigationRoot('Patient.name | Patient.alias')).toBeUndefined();
    expect(navigationRoot('iif(Patient.active, Patient.name, {})')).toBeUndefined();
  });
});
