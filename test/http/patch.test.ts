import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Parameters, Patient } from '@medplum/fhirtypes';
import { startServer, type TestServer } from '../support/server.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';

let server: TestServer;
let fhir: FhirClient;

const JSON_PATCH = { 'Content-Type': 'application/json-patch+json' };

function jsonPatch(path: string, operations: unknown[], headers: Record<string, string> = {}) {
  return fhir.request('PATCH', path, { raw: JSON.stringify(operations), headers: { ...JSON_PATCH, ...headers } });
}

function fhirPathPatch(path: string, ...operations: Array<Array<{ name: string } & Record<string, unknown>>>) {
  const body: Parameters = { resourceType: 'Parameters', parameter: operations.map((part) => ({ name: 'operation', part })) as Parameters['parameter'] };
  return fhir.request('PATCH', path, { body });
}

const op = (type: string, path: string, rest: Array<{ name: string } & Record<string, unknown>> = []) => [
  { name: 'type', valueCode: type },
  { name: 'path', valueString: path },
  ...rest,
];

async function newPatient(extra: Partial<Patient> = {}): Promise<Patient> {
  return fhir.create<Patient>({ resourceType: 'Patient', identifier: [{ system: 'urn:p', value: crypto.randomUUID() }], name: [{ family: 'Patch', given: ['A', 'B'] }], ...extra });
}

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

describe('JSON Patch', () => {
  it('applies the operations as a new version, with ETag and the patched resource', async () => {
    const p = await newPatient();
    const res = await jsonPatch(`Patient/${p.id}`, [
      { op: 'test', path: '/name/0/family', value: 'Patch' },
      { op: 'add', path: '/active', value: true },
      { op: 'replace', path: '/name/0/given/1', value: 'C' },
      { op: 'remove', path: '/name/0/given/0' },
    ]);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('W/"2"');
    expect(res.body).toMatchObject({ id: p.id, active: true, name: [{ family: 'Patch', given: ['C'] }], meta: { versionId: '2' } });
    expect((await fhir.get(`Patient/${p.id}`)).body.active).toBe(true);
  });

  it('a failed test or a missing path is a 422; a malformed document a 400; nothing changes', async () => {
    const p = await newPatient();
    const failedTest = await jsonPatch(`Patient/${p.id}`, [{ op: 'test', path: '/name/0/family', value: 'Other' }, { op: 'add', path: '/active', value: true }]);
    expect(failedTest.status).toBe(422);
    expect(errorCode(failedTest.body)).toBe('patch-failed');
    expect((await jsonPatch(`Patient/${p.id}`, [{ op: 'remove', path: '/telecom/0' }])).status).toBe(422);
    expect((await jsonPatch(`Patient/${p.id}`, [{ op: 'frobnicate', path: '/active' }])).status).toBe(400);
    expect((await jsonPatch(`Patient/${p.id}`, { op: 'add' } as unknown as unknown[])).status).toBe(400);
    expect((await fhir.get(`Patient/${p.id}`)).body.meta.versionId).toBe('1');
  });

  it('validates the result like any write, and refuses changing id or type', async () => {
    const p = await newPatient();
    const invalid = await jsonPatch(`Patient/${p.id}`, [{ op: 'add', path: '/gender', value: 'robot' }]);
    expect(invalid.status).toBe(422);
    expect(errorCode(invalid.body)).toBe('invalid-resource');
    const structural = await jsonPatch(`Patient/${p.id}`, [{ op: 'add', path: '/nonsense', value: 1 }]);
    expect(structural.status).toBe(400);
    expect((await jsonPatch(`Patient/${p.id}`, [{ op: 'replace', path: '/id', value: 'other' }])).status).toBe(400);
    expect((await jsonPatch(`Patient/${p.id}`, [{ op: 'replace', path: '/resourceType', value: 'Practitioner' }])).status).toBe(400);
    expect((await fhir.get(`Patient/${p.id}`)).body.meta.versionId).toBe('1');
  });

  it('honours If-Match; 404 for an unknown resource, 410 for a deleted one, 415 for other media types', async () => {
    const p = await newPatient();
    expect((await jsonPatch(`Patient/${p.id}`, [{ op: 'add', path: '/active', value: true }], { 'If-Match': 'W/"3"' })).status).toBe(412);
    expect((await jsonPatch(`Patient/${p.id}`, [{ op: 'add', path: '/active', value: true }], { 'If-Match': 'W/"1"' })).status).toBe(200);
    expect((await jsonPatch('Patient/nobody', [{ op: 'add', path: '/active', value: true }])).status).toBe(404);
    await fhir.delete(`Patient/${p.id}`);
    expect((await jsonPatch(`Patient/${p.id}`, [{ op: 'add', path: '/active', value: false }])).status).toBe(410);
    const text = await fhir.request('PATCH', `Patient/${p.id}`, { raw: '[]', headers: { 'Content-Type': 'text/plain' } });
    expect(text.status).toBe(415);
  });

  it('concurrent patches without If-Match are all applied (each re-applies to the newest version)', async () => {
    const p = await newPatient();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => jsonPatch(`Patient/${p.id}`, [{ op: 'add', path: '/name/0/given/-', value: `w${i}` }])));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const final = (await fhir.get(`Patient/${p.id}`)).body;
    expect(final.meta.versionId).toBe('9');
    expect(final.name[0].given).toHaveLength(10);
  });

  it('is refused where update is (AuditEvent: 405)', async () => {
    const res = await jsonPatch('AuditEvent/any', [{ op: 'add', path: '/outcome', value: '0' }]);
    expect(res.status).toBe(405);
  });
});

describe('FHIRPath Patch', () => {
  it('add, insert, replace, delete and move', async () => {
    const p = await newPatient({ telecom: [{ system: 'phone', value: '1' }, { system: 'phone', value: '2' }] });
    const res = await fhirPathPatch(
      `Patient/${p.id}`,
      op('add', 'Patient', [{ name: 'name', valueString: 'birthDate' }, { name: 'value', valueDate: '1970-01-01' }]),
      op('add', 'Patient', [{ name: 'name', valueString: 'identifier' }, { name: 'value', valueIdentifier: { system: 'urn:extra', value: 'x' } }]),
      op('insert', 'Patient.telecom', [{ name: 'value', valueContactPoint: { system: 'email', value: 'a@b.c' } }, { name: 'index', valueInteger: 0 }]),
      op('replace', 'Patient.name[0].family', [{ name: 'value', valueString: 'Patched' }]),
      op('delete', 'Patient.name[0].given[0]'),
      op('move', 'Patient.telecom', [{ name: 'source', valueInteger: 2 }, { name: 'destination', valueInteger: 0 }]),
      op('delete', 'Patient.photo'), // nothing there: not an error
    );
    expect(res.status).toBe(200);
    expect(res.body.birthDate).toBe('1970-01-01');
    expect(res.body.identifier).toHaveLength(2);
    expect(res.body.name[0]).toEqual({ family: 'Patched', given: ['B'] });
    expect(res.body.telecom.map((t: any) => t.value)).toEqual(['2', 'a@b.c', '1']);
  });

  it('works on elements found by a FHIRPath filter and on choice types', async () => {
    const p = await newPatient({ name: [{ use: 'old', family: 'Before' }, { use: 'official', family: 'Keep' }], deceasedBoolean: false });
    const res = await fhirPathPatch(
      `Patient/${p.id}`,
      op('replace', "Patient.name.where(use = 'old').family", [{ name: 'value', valueString: 'After' }]),
      op('replace', 'Patient.deceased', [{ name: 'value', valueBoolean: true }]),
    );
    expect(res.status).toBe(200);
    expect(res.body.name.map((n: any) => n.family)).toEqual(['After', 'Keep']);
    expect(res.body.deceasedBoolean).toBe(true);
  });

  it('a path selecting nothing or several elements is a 422; a malformed document a 400', async () => {
    const p = await newPatient();
    expect((await fhirPathPatch(`Patient/${p.id}`, op('replace', 'Patient.birthDate', [{ name: 'value', valueDate: '2000-01-01' }]))).status).toBe(422);
    expect((await fhirPathPatch(`Patient/${p.id}`, op('replace', 'Patient.name.given', [{ name: 'value', valueString: 'X' }]))).status).toBe(422);
    expect((await fhirPathPatch(`Patient/${p.id}`, op('add', 'Patient', [{ name: 'name', valueString: 'gender' }]))).status).toBe(400);
    expect((await fhirPathPatch(`Patient/${p.id}`, op('explode', 'Patient'))).status).toBe(400);
    expect((await fhirPathPatch(`Patient/${p.id}`, op('delete', 'Patient.name[0].(('))).status).toBe(400);
    expect((await fhir.get(`Patient/${p.id}`)).body.meta.versionId).toBe('1');
  });
});

describe('conditional patch', () => {
  it('patches the one match; none is a 404, several a 412', async () => {
    const p = await newPatient({ identifier: [{ system: 'urn:cp', value: 'one' }] });
    const res = await jsonPatch('Patient?identifier=urn:cp|one', [{ op: 'add', path: '/active', value: true }]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: p.id, active: true });
    expect((await jsonPatch('Patient?identifier=urn:cp|none', [{ op: 'add', path: '/active', value: true }])).status).toBe(404);
    await newPatient({ identifier: [{ system: 'urn:cp', value: 'two' }] });
    await newPatient({ identifier: [{ system: 'urn:cp', value: 'two' }] });
    expect((await jsonPatch('Patient?identifier=urn:cp|two', [{ op: 'add', path: '/active', value: true }])).status).toBe(412);
  });
});
