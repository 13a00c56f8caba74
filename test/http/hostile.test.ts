import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { authHeaders } from '../support/tokens.js';
import { startServer, type TestServer } from '../support/server.js';

/** Hostile input at the edge (issue 15, items 9 and 10): always a 4xx OperationOutcome, never a 500, nothing of it logged. */
let server: TestServer;
let fhir: FhirClient;

beforeAll(async () => {
  server = await startServer({ AUDIT_SINK: 'log' });
  fhir = fhirClient(server.fhirUrl);
  expect((await fhir.put('Patient/p1', { resourceType: 'Patient', id: 'p1', name: [{ family: 'Hostile' }] })).status).toBe(201);
});
afterAll(() => server.destroy());

const isOutcome = (res: { body: any }) => expect(res.body?.resourceType).toBe('OperationOutcome');
const nothingLogged = (marker: string) => expect(server.logs.filter((l) => l.includes(marker))).toEqual([]);

describe('query parameter names that are Object builtins', () => {
  it.each(['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'prototype'])('%s is a parameter like any other', async (name) => {
    const lenient = await fhir.get(`Patient?${name}=x&${name}=y`);
    expect(lenient.status).toBe(200);
    const strict = await fhir.get(`Patient?${name}=x`, { Prefer: 'handling=strict' });
    expect([strict.status, errorCode(strict.body)]).toEqual([400, 'bad-request']);
    const form = await fhir.request('POST', 'Patient/_search', { raw: `${name}=x&${name}=y`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(200);
    const conditional = await fhir.request('PUT', `Patient?${name}=x`, { body: { resourceType: 'Patient', name: [{ family: 'X' }] } });
    expect(conditional.status).toBeGreaterThanOrEqual(400);
    expect(conditional.status).toBeLessThan(500);
    const batch = await fhir.post('', { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Patient?${name}=x` } }] });
    expect(batch.status).toBe(200);
  });
});

describe('oversized and over-nested input', () => {
  it('a 100 KB search value is a 400 that neither echoes nor logs it', async () => {
    const marker = 'HOSTILEMARKER';
    const value = marker + 'x'.repeat(100_000);
    const res = await fhir.request('POST', 'Patient/_search', { raw: `name=${value}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect([res.status, errorCode(res.body)]).toEqual([400, 'bad-request']);
    expect(res.text).not.toContain(marker);
    nothingLogged(marker);
  });

  it('5,000 levels of nested extensions are a 400, not a stack overflow', async () => {
    // Written as text: JSON.stringify itself would overflow on this.
    const nested = '{"url":"https://example.org/nested","extension":['.repeat(5000) + '{"url":"https://example.org/leaf","valueString":"x"}' + ']}'.repeat(5000);
    const res = await fhir.request('POST', 'Patient', { raw: `{"resourceType":"Patient","extension":[${nested}]}`, headers: { 'Content-Type': 'application/fhir+json' } });
    expect([res.status, errorCode(res.body)]).toEqual([400, 'invalid-structure']);
    isOutcome(res);
  });

  it('a FHIRPath Patch nesting its value parts 5,000 levels deep, or a path of 5,000 parentheses, is a 4xx', async () => {
    const part = '{"name":"nested","part":['.repeat(5000) + '{"name":"leaf","valueString":"x"}' + ']}'.repeat(5000);
    const deepValue = `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient"},{"name":"name","valueString":"extension"},{"name":"value","part":[${part}]}]}]}`;
    const a = await fhir.request('PATCH', 'Patient/p1', { raw: deepValue, headers: { 'Content-Type': 'application/fhir+json' } });
    expect(a.status).toBe(400);
    const path = `${'('.repeat(5000)}Patient${')'.repeat(5000)}`;
    const deepPath = { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: `${path}.active` }, { name: 'value', valueBoolean: true }] }] };
    const b = await fhir.request('PATCH', 'Patient/p1', { body: deepPath });
    expect(b.status).toBeGreaterThanOrEqual(400);
    expect(b.status).toBeLessThan(500);
    isOutcome(b);
  });

  it('a resource with 600,000 names is refused before it is stored', async () => {
    const names = Array.from({ length: 600_000 }, () => ({ family: 'N' }));
    const res = await fhir.post('Patient', { resourceType: 'Patient', name: names });
    expect([res.status, errorCode(res.body)]).toEqual([413, 'payload-too-large']);
  });
});

describe('errors before the router (item 10)', () => {
  it.each(['TRACE', 'PROPFIND', 'MKCOL'])('%s is a 501 OperationOutcome', async (method) => {
    // fetch refuses TRACE; node:http sends any method.
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${server.fhirUrl}/Patient`, { method, headers: authHeaders(server.fhirUrl) }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, text: body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect([status, errorCode(JSON.parse(text))]).toEqual([501, 'not-supported']);
  });

  it('a URL over the header limit is a 431 OperationOutcome', async () => {
    const res = await fetch(`${server.fhirUrl}/Patient?name=${'a'.repeat(20_000)}`, { headers: authHeaders(server.fhirUrl) });
    expect(res.status).toBe(431);
    expect((await res.json()).issue[0].details.coding[0].code).toBe('headers-too-large');
  });

  it('malformed HTTP is a 400 OperationOutcome', async () => {
    const port = Number(new URL(server.origin).port);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /fhir/Patient HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw.startsWith('HTTP/1.1 400')).toBe(true);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).resourceType).toBe('OperationOutcome');
  });
});
