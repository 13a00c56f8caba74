import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';

/**
 * Issue 20 over HTTP: what the validator now checks decides writes (400 structure, 422 rules,
 * 201 with warnings), and `$validate` answers 200 whenever it could validate, at type and
 * instance level, and a 4xx OperationOutcome when it could not, never a 500.
 */
let server: TestServer;
let strictServer: TestServer;
let fhir: FhirClient;
let strict: FhirClient;

beforeAll(async () => {
  [server, strictServer] = await Promise.all([startServer(), startServer({ FHIR_VALIDATION_STRICT: 'true' })]);
  fhir = fhirClient(server.fhirUrl);
  strict = fhirClient(strictServer.fhirUrl);
});
afterAll(async () => {
  await Promise.all([server.destroy(), strictServer.destroy()]);
});

type Json = Record<string, any>;
const H = 'http://hl7.org/fhir/StructureDefinition/';
const XHTML = 'http://www.w3.org/1999/xhtml';
const patient = (extra: Json = {}): Json => ({ resourceType: 'Patient', text: { status: 'generated', div: `<div xmlns="${XHTML}"><p>Ann</p></div>` }, name: [{ family: 'Lee' }], ...extra });
const order = (extra: Json = {}): Json => ({
  resourceType: 'MedicationRequest',
  text: { status: 'generated', div: `<div xmlns="${XHTML}"><p>Aspirin</p></div>` },
  status: 'active',
  intent: 'order',
  medicationCodeableConcept: { text: 'Aspirin 100 mg' },
  subject: { reference: 'Patient/p1' },
  ...extra,
});
/** A Patient whose extension nests `levels` deep, as JSON text (JSON.stringify itself overflows the stack on it). */
const nested = (levels: number): string => {
  const open = '{"url":"http://example.org/x","extension":['.repeat(levels);
  const close = ']}'.repeat(levels);
  return `{"resourceType":"Patient","extension":[${open}{"url":"http://example.org/x","valueString":"deepest"}${close}]}`;
};
const rawJson = (text: string) => ({ raw: text, headers: { 'Content-Type': 'application/fhir+json' } });

const issuesAt = (outcome: any, severity: string): string[] => (outcome.issue ?? []).filter((i: any) => i.severity === severity).flatMap((i: any) => i.expression ?? []);

describe('writes decided by the new checks', () => {
  const CASES: Array<{ name: string; body: Json; status: number; code?: string; at?: string }> = [
    // item 1: extensions
    { name: 'known extension used correctly', body: patient({ extension: [{ url: `${H}patient-mothersMaidenName`, valueString: 'Smith' }] }), status: 201 },
    { name: 'unknown extension (accepted)', body: patient({ extension: [{ url: 'http://example.org/fhir/colour', valueString: 'blue' }] }), status: 201 },
    { name: 'unknown modifierExtension', body: patient({ modifierExtension: [{ url: 'http://example.org/fhir/do-not-treat', valueBoolean: true }] }), status: 422, code: 'invalid-resource', at: 'Patient.modifierExtension[0]' },
    { name: 'extension value of the wrong type', body: patient({ extension: [{ url: `${H}patient-mothersMaidenName`, valueBoolean: true }] }), status: 422, code: 'invalid-resource', at: 'Patient.extension[0].value.ofType(boolean)' },
    { name: 'extension out of its context', body: patient({ name: [{ family: 'Lee', extension: [{ url: `${H}patient-mothersMaidenName`, valueString: 'Smith' }] }] }), status: 422, code: 'invalid-resource', at: 'Patient.name[0].extension[0]' },
    { name: 'undefined sub-extension', body: patient({ extension: [{ url: `${H}patient-nationality`, extension: [{ url: 'colour', valueString: 'x' }] }] }), status: 422, code: 'invalid-resource', at: 'Patient.extension[0].extension[0]' },
    { name: 'versioned extension url', body: patient({ extension: [{ url: `${H}patient-mothersMaidenName|4.0.1`, valueString: 'Smith' }] }), status: 201 },
    // item 2: narrative
    { name: 'narrative with xml:lang and lang', body: patient({ text: { status: 'generated', div: `<div xmlns="${XHTML}" xml:lang="en" lang="en"><p>Ann</p></div>` } }), status: 201 },
    { name: 'narrative without the XHTML namespace', body: patient({ text: { status: 'generated', div: '<div><p>Ann</p></div>' } }), status: 422, code: 'invalid-resource', at: 'Patient.text.div' },
    // item 3: empty values
    { name: 'empty array', body: patient({ name: [] }), status: 400, code: 'invalid-structure', at: 'Patient.name' },
    { name: 'empty url', body: patient({ extension: [{ url: '', valueString: 'x' }] }), status: 400, code: 'invalid-structure', at: 'Patient.extension[0].url' },
    { name: 'empty system', body: patient({ identifier: [{ system: '', value: '1' }] }), status: 400, code: 'invalid-structure', at: 'Patient.identifier[0].system' },
    { name: 'empty object', body: patient({ maritalStatus: {} }), status: 400, code: 'invalid-structure', at: 'Patient.maritalStatus' },
    // item 4: reference targets (an error where they decide the Patient compartment, else a warning unless strict) and unknown profiles
    { name: 'subject that is a Practitioner (error: it decides the compartment)', body: order({ subject: { reference: 'Practitioner/x' } }), status: 422, code: 'invalid-resource', at: 'MedicationRequest.subject' },
    { name: 'requester that is a Medication (warning)', body: order({ requester: { reference: 'Medication/x' } }), status: 201 },
    { name: 'unknown meta.profile (warning)', body: patient({ meta: { profile: ['http://example.org/fhir/StructureDefinition/unheard-of'] } }), status: 201 },
    // item 5: nesting no recursion survives
  ];

  it.each(CASES.map((c) => [c.name, c]))('%s', async (_name, c) => {
    const res = await fhir.post(c.body.resourceType, c.body);
    expect(res.status, res.text.slice(0, 400)).toBe(c.status);
    if (c.code) {
      expect(errorCode(res.body)).toBe(c.code);
      expect(issuesAt(res.body, 'error')).toContain(c.at);
    }
  });

  it('5,000 levels of nesting: 400, not a crash', async () => {
    const res = await fhir.request('POST', 'Patient', rawJson(nested(5000)));
    expect(res.status, res.text.slice(0, 400)).toBe(400);
    expect(errorCode(res.body)).toBe('invalid-structure');
    expect(res.text).toContain('nests deeper than');
  });
});

describe('FHIR_VALIDATION_STRICT=true', () => {
  it.each([
    ['requester that is a Medication', order({ requester: { reference: 'Medication/x' } }), 'MedicationRequest.requester'],
    ['unknown meta.profile', patient({ meta: { profile: ['http://example.org/fhir/StructureDefinition/unheard-of'] } }), 'Patient.meta.profile[0]'],
  ])('%s is rejected (422)', async (_name, body, at) => {
    const res = await strict.post(body.resourceType, body);
    expect(res.status, res.text.slice(0, 400)).toBe(422);
    expect(errorCode(res.body)).toBe('invalid-resource');
    expect(issuesAt(res.body, 'error')).toContain(at);
  });

  it('still accepts a valid resource and a profile it holds', async () => {
    const res = await strict.post('Patient', patient({ meta: { profile: [`${H}Patient`] } }));
    expect(res.status, res.text).toBe(201);
  });
});

describe('$validate', () => {
  it('answers 200 with the findings as issues, stores nothing', async () => {
    const before = await server.app.store.count('history', { resourceType: 'MedicationRequest' });
    const res = await fhir.post('MedicationRequest/$validate', order({ requester: { reference: 'Medication/x' }, modifierExtension: [{ url: 'http://example.org/x', valueBoolean: true }] }));
    expect(res.status).toBe(200);
    expect(issuesAt(res.body, 'error')).toEqual(['MedicationRequest.modifierExtension[0]']);
    expect(issuesAt(res.body, 'warning')).toContain('MedicationRequest.requester');
    expect(await server.app.store.count('history', { resourceType: 'MedicationRequest' })).toBe(before);
  });

  it('refuses 5,000 levels of nesting before validating (400: a body it cannot validate), not a crash', async () => {
    const res = await fhir.request('POST', 'Patient/$validate', rawJson(nested(5000)));
    expect(res.status).toBe(400);
    expect(errorCode(res.body)).toBe('invalid-structure');
    expect(res.text).toContain('nests deeper than');
  });

  describe('at instance level: POST [type]/[id]/$validate', () => {
    it('validates the content of that instance (200), without storing it', async () => {
      const res = await fhir.post('Patient/v1/$validate', patient());
      expect(res.status, res.text).toBe(200);
      expect(res.body.issue).toEqual([expect.objectContaining({ severity: 'information' })]);
      expect((await fhir.get('Patient/v1')).status).toBe(404);
    });

    it('takes a Parameters body and reports invalid content (200)', async () => {
      const res = await fhir.post('Patient/v1/$validate', { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient({ id: 'v1', gender: 'bloke' }) }] });
      expect(res.status).toBe(200);
      expect(issuesAt(res.body, 'error')).toEqual(['Patient.gender']);
    });

    it("reports a body whose id is not the instance's", async () => {
      const res = await fhir.post('Patient/v1/$validate', patient({ id: 'v2' }));
      expect(res.status).toBe(200);
      expect(res.body.issue).toEqual([expect.objectContaining({ severity: 'error', code: 'invalid', expression: ['Patient.id'] })]);
    });

    it('validates an existing instance the same way (and leaves it as it was)', async () => {
      const created = (await fhir.post('Patient', patient())).body;
      const res = await fhir.post(`Patient/${created.id}/$validate`, patient({ id: created.id, birthDate: '2021-02-30' }));
      expect(res.status).toBe(200);
      expect(issuesAt(res.body, 'error')).toEqual(['Patient.birthDate']);
      expect((await fhir.get(`Patient/${created.id}`)).body.meta.versionId).toBe('1');
    });
  });

  describe('could not validate: a 4xx OperationOutcome, never a 500', () => {
    const raw = (text: string, type = 'application/fhir+json') => ({ raw: text, headers: { 'Content-Type': type } });
    it.each([
      ['body that is not JSON', 'Patient/$validate', raw('<Patient xmlns="http://hl7.org/fhir"/>'), 400, 'invalid-json'],
      ['body that is not JSON (instance level)', 'Patient/v1/$validate', raw('not json'), 400, 'invalid-json'],
      ['empty body', 'Patient/$validate', raw(''), 400, 'bad-request'],
      ['JSON that is not an object', 'Patient/$validate', raw('[1,2]'), 400, 'invalid-structure'],
      ['resource of another type', 'Patient/$validate', raw('{"resourceType":"Practitioner"}'), 400, 'type-mismatch'],
      ['Parameters without a resource', 'Patient/$validate', raw('{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"create"}]}'), 400, 'bad-request'],
      ['XML media type', 'Patient/$validate', raw('<Patient/>', 'application/fhir+xml'), 415, 'unsupported-media-type'],
      ['invalid instance id', 'Patient/not%20an%20id/$validate', raw('{"resourceType":"Patient"}'), 400, 'invalid-id'],
      ['type not served', 'Parameters/o1/$validate', raw('{"resourceType":"Parameters"}'), 404, 'unknown-type'],
      ['other instance operation', 'Patient/v1/$everything', raw('{"resourceType":"Patient"}'), 501, 'not-supported'],
      ['nesting too deep for any parser', 'Patient/$validate', raw(`${'['.repeat(200_000)}${']'.repeat(200_000)}`), 400, 'invalid-structure'],
    ])('%s', async (_name, path, options, status, code) => {
      const res = await fhir.request('POST', path, options);
      expect(res.status, res.text.slice(0, 300)).toBe(status);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(errorCode(res.body)).toBe(code);
    });

    it('POST on an instance path that is no operation is 405', async () => {
      const res = await fhir.post('Patient/v1/Observation', { resourceType: 'Patient' });
      expect(res.status).toBe(405);
      expect(errorCode(res.body)).toBe('method-not-allowed');
    });
  });
});
