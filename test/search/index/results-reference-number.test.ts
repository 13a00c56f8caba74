import { describe, expect, it } from 'vitest';
import { GENERATED, generated } from './fixtures.js';
import { BASE_URL, corpusIds, testIndex, describeEachStore, type Clause } from './support.js';

const index = testIndex();

type Row = Record<string, unknown>;
const ref = (value: unknown): string | undefined => (value as { reference?: string } | undefined)?.reference;
const actors = (r: Row): string[] =>
  ((r.participant as Array<{ actor?: unknown }> | undefined) ?? []).map((p) => ref(p.actor)).filter((x): x is string => x !== undefined);
const ABS_OR_EXT: Clause = ['_id', undefined, ['gen-mr-abs', 'gen-mr-ext']];

const CORPUS: Array<[label: string, type: string, clauses: Clause[], expected: string[]]> = [
  ['Type/id', 'MedicationRequest', [['subject', undefined, ['Patient/pat1']]], corpusIds('MedicationRequest', (r) => ref(r.subject) === 'Patient/pat1')],
  ['patient by bare id', 'MedicationRequest', [['patient', undefined, ['pat1']]], corpusIds('MedicationRequest', (r) => ref(r.subject) === 'Patient/pat1')],
  ['type modifier', 'MedicationDispense', [['subject', 'Patient', ['pat1']]], corpusIds('MedicationDispense', (r) => ref(r.subject) === 'Patient/pat1')],
  ['wrong type finds nothing', 'MedicationRequest', [['subject', undefined, ['Group/pat1']]], []],
  ['Consent patient', 'Consent', [['patient', undefined, ['Patient/f001']]], corpusIds('Consent', (r) => ref(r.patient) === 'Patient/f001')],
  ['Appointment practitioner (actor.where(resolve() is Practitioner))', 'Appointment', [['practitioner', undefined, ['example']]], ['2docs', 'example']],
  ['Appointment actor of any type', 'Appointment', [['actor', undefined, ['Location/1']]], corpusIds('Appointment', (r) => actors(r).includes('Location/1'))],
  ['Appointment location:missing=true', 'Appointment', [['location', 'missing', ['true']]], [
      ...corpusIds('Appointment', (r) => !actors(r).some((a) => a.startsWith('Location/'))),
      ...['gen-ap-100', 'gen-ap-101', 'gen-ap-30', 'gen-ap-none', 'gen-ap-pair'],
    ]],
  // AuditEvent.patient has two branches, agent.who and entity.what; versioned references count
  ['two-branch patient, versions dropped', 'AuditEvent', [['patient', undefined, ['Patient/example']]], ['example-disclosure', 'example-rest']],
  ['a contained reference (#o1) is not indexed', 'AuditEvent', [['entity', undefined, ['o1']]], []],
  // A bare id is that id of any target type: Appointment.actor has ten, AuditEvent.entity every type.
  ['Appointment actor by bare id, of any target type', 'Appointment', [['actor', undefined, ['1']]], corpusIds('Appointment', (r) => actors(r).some((a) => /^[A-Za-z]+\/1$/.test(a)))],
  ['AuditEvent entity (Reference(Any)) by bare id', 'AuditEvent', [['entity', undefined, ['example']]], corpusIds('AuditEvent', (r) => ((r.entity as Array<{ what?: unknown }> | undefined) ?? []).some((e) => /^[A-Za-z]+\/example(\/_history\/.+)?$/.test(ref(e.what) ?? '')))],
];

const GEN: Array<[label: string, type: string, clauses: Clause[], expected: string[]]> = [
  [
    'absolute URL under the base is stored relative',
    'MedicationRequest',
    [['subject', undefined, ['Patient/gen-smith']]],
    ['gen-mr-abs', 'gen-mr-contained', 'gen-mr-t1', 'gen-mr-t2', 'gen-mr-t3'],
  ],
  ['an absolute search value under the base', 'MedicationRequest', [['subject', undefined, [`${BASE_URL}/Patient/gen-smith`]], ABS_OR_EXT], ['gen-mr-abs']],
  ['another server stays absolute', 'MedicationRequest', [['subject', undefined, ['http://other.org/fhir/Patient/gen-smith']]], ['gen-mr-ext']],
  ['a bare id does not match another server', 'MedicationRequest', [['subject', undefined, ['gen-smith']], ABS_OR_EXT], ['gen-mr-abs']],
  ['patient keeps other servers’ Patient URLs', 'MedicationRequest', [['patient', undefined, ['http://other.org/fhir/Patient/gen-smith']]], ['gen-mr-ext']],
  [':identifier system|value', 'MedicationRequest', [['subject', 'identifier', ['urn:mrn|M1']]], ['gen-mr-ident']],
  [':identifier on patient (Reference.type is Patient)', 'MedicationRequest', [['patient', 'identifier', ['M1']]], ['gen-mr-ident']],
  ['patient:missing for a Group subject', 'MedicationRequest', [['patient', 'missing', ['true']]], ['gen-mr-group']],
  ['a Group subject', 'MedicationRequest', [['subject', 'Group', ['g1']]], ['gen-mr-group']],
  [
    'medication:missing with a contained medication',
    'MedicationRequest',
    [['medication', 'missing', ['true']], ['_id', undefined, ['gen-mr-contained', 'gen-mr-abs']]],
    ['gen-mr-abs', 'gen-mr-contained'],
  ],
  ['absolute, versioned general practitioner', 'Patient', [['general-practitioner', undefined, ['Practitioner/gen-doc']]], ['gen-smith']],
  ['identifier-only organization', 'Patient', [['organization', 'identifier', ['urn:org|O1']]], ['gen-smyth']],
  ['link to another server', 'Patient', [['link', undefined, ['http://other.org/fhir/Patient/99']]], ['gen-smyth']],
  // number: minutesDuration 30, 100, 101 and none
  ['number eq: 100 is [99.5, 100.5)', 'Appointment', [['minutes', undefined, ['100']]], ['gen-ap-100']],
  ['number eq, one significant digit: 1e2 is [50, 150)', 'Appointment', [['minutes', undefined, ['1e2']]], ['gen-ap-100', 'gen-ap-101']],
  ['number eq with decimals', 'Appointment', [['minutes', undefined, ['100.4']]], []],
  ['number gt', 'Appointment', [['minutes', undefined, ['gt100']]], ['gen-ap-101']],
  ['number ge', 'Appointment', [['minutes', undefined, ['ge100']]], ['gen-ap-100', 'gen-ap-101']],
  ['number lt', 'Appointment', [['minutes', undefined, ['lt100']]], ['gen-ap-30']],
  ['number le', 'Appointment', [['minutes', undefined, ['le100']]], ['gen-ap-100', 'gen-ap-30']],
  ['number ne', 'Appointment', [['minutes', undefined, ['ne100']]], ['gen-ap-101', 'gen-ap-30']],
  ['number ap: 91 ± 9.1', 'Appointment', [['minutes', undefined, ['ap91']]], ['gen-ap-100']],
  ['number sa', 'Appointment', [['minutes', undefined, ['sa100']]], ['gen-ap-101']],
  ['number eb', 'Appointment', [['minutes', undefined, ['eb100']]], ['gen-ap-30']],
  ['number:missing', 'Appointment', [['minutes', 'missing', ['true']]], ['gen-ap-none', 'gen-ap-pair']],
  // quantity: 5 mg, 5 tablet (TAB), <10 mL
  ['quantity by value', 'MedicationDispense', [['quantity', undefined, ['5']]], ['gen-md-5mg', 'gen-md-5tab']],
  ['quantity system|code', 'MedicationDispense', [['quantity', undefined, ['5|http://unitsofmeasure.org|mg']]], ['gen-md-5mg']],
  ['quantity ||code', 'MedicationDispense', [['quantity', undefined, ['5||TAB']]], ['gen-md-5tab']],
  ['quantity ||unit', 'MedicationDispense', [['quantity', undefined, ['5||tablet']]], ['gen-md-5tab']],
  ['quantity with prefix and unit', 'MedicationDispense', [['quantity', undefined, ['gt4||mL']]], ['gen-md-lt10']],
  ['quantity units are not converted', 'MedicationDispense', [['quantity', undefined, ['5000||ug']]], []],
  // composites pair components of the same element
  ['composite: status and actor of one participant', 'Appointment', [['status-actor', undefined, ['declined$Practitioner/d1']]], ['gen-ap-pair']],
  ['composite: not across participants', 'Appointment', [['status-actor', undefined, ['accepted$Practitioner/d1']]], []],
  ['composite: OR-ed values', 'Appointment', [['status-actor', undefined, ['accepted$Practitioner/d1', 'accepted$p1']]], ['gen-ap-pair']],
  ['composite with a quantity prefix', 'MedicationDispense', [['status-quantity', undefined, ['completed$gt4||mL']]], ['gen-md-lt10']],
  ['composite: code and value of the same resource', 'MedicationDispense', [['status-quantity', undefined, ['in-progress$5']]], ['gen-md-5tab']],
  ['composite:missing', 'Appointment', [['status-actor', 'missing', ['false']]], ['gen-ap-pair']],
];

describeEachStore('reference, number and quantity searches', index, GENERATED, (handle) => {
  describe('reference searches', () => {
    it.each(CORPUS)('%s', async (_label, type, clauses, expected) => {
      expect(await handle.db.ids(type, ...clauses)).toEqual(expected);
    });
  });

  describe('reference, number and quantity searches on generated resources', () => {
    it.each(GEN)('%s', async (_label, type, clauses, expected) => {
      expect(generated(await handle.db.ids(type, ...clauses))).toEqual(expected);
    });

    it('quantity:missing counts the official examples too', async () => {
      const expected = corpusIds('MedicationDispense', (r) => r.quantity === undefined);
      expect(await handle.db.ids('MedicationDispense', ['quantity', 'missing', ['true']])).toEqual(expected);
    });
  });

  describe('compileReferenceIn and referencesOf (for chains and includes)', () => {
    it('finds records pointing at a set of targets', async () => {
      const filter = { $and: [{ resourceType: 'Appointment' }, index.compileReferenceIn('Appointment', 'actor', ['Practitioner/f202', 'Location/1'])] };
      const found = await handle.db.store.find('current', filter);
      expect(found.map((r) => r.id).sort()).toEqual(corpusIds('Appointment', (r) => actors(r).some((a) => a === 'Practitioner/f202' || a === 'Location/1')));
    });

    it('lists the references a stored record holds', async () => {
      const [record] = await handle.db.store.find('current', { resourceType: 'AuditEvent', id: 'example-disclosure' });
      expect(index.referencesOf(record, 'patient')).toEqual(['Patient/example']);
      expect(index.referencesOf(record, 'agent')).toEqual(['Practitioner/example']);
    });
  });
});
