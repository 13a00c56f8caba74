import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { authHeaders } from '../support/tokens.js';

let server: TestServer;
let fhir: FhirClient;

beforeAll(async () => {
  server = await startServer({ FHIR_MAX_BODY_BYTES: '4096' });
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

/** Number of stored Patient versions: proves a failed request stored nothing. */
async function storedVersions(): Promise<number> {
  return server.app.store.count('history', { resourceType: 'Patient' });
}

function expectOutcome(res: { status: number; body: any; text: string; headers: Headers }, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(res.body.issue[0].severity).toBe('error');
  expect(errorCode(res.body)).toBe(code);
  // No stack traces or internals reach clients.
  expect(res.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
  expect(res.text).not.toContain('node_modules');
}

describe('bad input is answered with an OperationOutcome and stores nothing', () => {
  const cases: Array<{ name: string; send: () => Promise<any>; status: number; code: string }> = [
    { name: 'malformed JSON', send: () => fhir.request('POST', 'Patient', { raw: '{"resourceType": "Patient", "name": [', headers: { 'Content-Type': 'application/fhir+json' } }), status: 400, code: 'invalid-json' },
    { name: 'JSON that is not an object', send: () => fhir.request('POST', 'Patient', { raw: '[1,2]', headers: { 'Content-Type': 'application/fhir+json' } }), status: 400, code: 'invalid-structure' },
    { name: 'empty body', send: () => fhir.request('POST', 'Patient', { raw: '', headers: { 'Content-Type': 'application/fhir+json' } }), status: 400, code: 'bad-request' },
    { name: 'wrong Content-Type', send: () => fhir.request('POST', 'Patient', { raw: '<Patient/>', headers: { 'Content-Type': 'application/fhir+xml' } }), status: 415, code: 'unsupported-media-type' },
    { name: 'text/plain body', send: () => fhir.request('POST', 'Patient', { raw: '{"resourceType":"Patient"}', headers: { 'Content-Type': 'text/plain' } }), status: 415, code: 'unsupported-media-type' },
    { name: 'non-UTF-8 charset', send: () => fhir.request('POST', 'Patient', { raw: '{"resourceType":"Patient"}', headers: { 'Content-Type': 'application/fhir+json; charset=iso-8859-1' } }), status: 415, code: 'unsupported-media-type' },
    { name: 'missing Content-Type', send: () => fetch(`${server.fhirUrl}/Patient`, { method: 'POST', headers: authHeaders(server.fhirUrl), body: new Uint8Array(Buffer.from('{"resourceType":"Patient"}')) }).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.clone().text(), body: await r.json() })), status: 415, code: 'unsupported-media-type' },
    { name: 'resourceType differs from the URL', send: () => fhir.post('Patient', { resourceType: 'Practitioner' }), status: 400, code: 'type-mismatch' },
    { name: 'no resourceType', send: () => fhir.post('Patient', { name: [{ family: 'X' }] }), status: 400, code: 'invalid-structure' },
    { name: 'body id differs from URL id', send: () => fhir.put('Patient/abc', { resourceType: 'Patient', id: 'xyz' }), status: 400, code: 'id-mismatch' },
    { name: 'update without a body id', send: () => fhir.put('Patient/abc', { resourceType: 'Patient' }), status: 400, code: 'id-mismatch' },
    { name: 'id breaking the FHIR id pattern', send: () => fhir.put(`Patient/${'x'.repeat(65)}`, { resourceType: 'Patient', id: 'x'.repeat(65) }), status: 400, code: 'invalid-id' },
    { name: 'id with illegal characters', send: () => fhir.get('Patient/a_b'), status: 400, code: 'invalid-id' },
    { name: 'unknown resource type', send: () => fhir.post('Parameters', { resourceType: 'Parameters' }), status: 404, code: 'unknown-type' },
    { name: 'not a resource type at all', send: () => fhir.get('patients/1'), status: 404, code: 'unknown-type' },
    { name: 'unsupported method', send: () => fhir.request('PATCH', 'Patient/abc/_history', { raw: '[]', headers: { 'Content-Type': 'application/json-patch+json' } }), status: 405, code: 'method-not-allowed' },
    { name: 'POST on an instance', send: () => fhir.post('Patient/abc', { resourceType: 'Patient' }), status: 405, code: 'method-not-allowed' },
    { name: 'unknown operation', send: () => fhir.post('Patient/$frobnicate', { resourceType: 'Patient' }), status: 501, code: 'not-supported' },
    { name: 'body over the size limit', send: () => fhir.post('Patient', { resourceType: 'Patient', text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'a'.repeat(5000)}</div>` } }), status: 413, code: 'payload-too-large' },
    { name: 'invalid resource content (bad date, unknown element)', send: () => fhir.post('Patient', { resourceType: 'Patient', birthDate: '1970-13-45', favouriteColour: 'blue' }), status: 400, code: 'invalid-structure' },
    { name: 'invalid code in a required binding', send: () => fhir.post('Patient', { resourceType: 'Patient', gender: 'bloke' }), status: 422, code: 'invalid-resource' },
    { name: 'AuditEvent cannot be updated', send: () => fhir.put('AuditEvent/a1', { resourceType: 'AuditEvent', id: 'a1' }), status: 405, code: 'method-not-allowed' },
    { name: 'AuditEvent cannot be deleted', send: () => fhir.delete('AuditEvent/a1'), status: 405, code: 'method-not-allowed' },
    { name: 'unknown endpoint', send: () => fetch(`${server.origin}/nowhere`).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.clone().text(), body: await r.json() })), status: 404, code: 'unknown-route' },
    { name: 'malformed If-Match', send: () => fhir.put('Patient/abc', { resourceType: 'Patient', id: 'abc' }, { 'If-Match': 'yesterday' }), status: 400, code: 'bad-request' },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const before = await storedVersions();
      expectOutcome(await c.send(), c.status, c.code);
      expect(await storedVersions()).toBe(before);
    });
  }

  it('405 carries an Allow header', async () => {
    const res = await fhir.request('PATCH', 'Patient/abc/_history', { raw: '[]', headers: { 'Content-Type': 'application/json-patch+json' } });
    expect(res.headers.get('allow')).toMatch(/GET/);
  });

  it('validation errors list every issue with a FHIRPath location', async () => {
    const res = await fhir.post('Patient', { resourceType: 'Patient', birthDate: 'soon', gender: 'bloke', name: [{ given: [42] }] });
    expect(res.status).toBe(400);
    const issues = res.body.issue.slice(1);
    const where = issues.flatMap((i: any) => i.expression ?? []);
    expect(where).toEqual(expect.arrayContaining(['Patient.birthDate', 'Patient.name[0].given[0]']));
    expect(issues.length).toBeGreaterThanOrEqual(2);
  });

  it('$validate reports issues without storing, and OK for a valid resource', async () => {
    const before = await storedVersions();
    const bad = await fhir.post('Patient/$validate', { resourceType: 'Patient', gender: 'bloke' });
    expect(bad.status).toBe(200);
    expect(bad.body.issue.some((i: any) => i.severity === 'error' && i.expression?.includes('Patient.gender'))).toBe(true);
    const good = await fhir.post('Patient/$validate', { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', gender: 'female' } }] });
    expect(good.status).toBe(200);
    expect(good.body.issue.every((i: any) => i.severity === 'information' || i.severity === 'warning')).toBe(true);
    expect(await storedVersions()).toBe(before);
  });
});
