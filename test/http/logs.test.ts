import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient } from '../support/fhir-client.js';
import { authHeaders } from '../support/tokens.js';

let server: TestServer;

// AUDIT_SINK=log: the audit trail as log lines (README "Consent and audit"), whose shape this file checks.
beforeAll(async () => {
  server = await startServer({ AUDIT_SINK: 'log' });
});
afterAll(() => server.destroy());

describe('structured logs', () => {
  it('are JSON lines carrying the request id, and never patient data', async () => {
    const marker = 'Zyxwvutsrq';
    const fhir = fhirClient(server.fhirUrl);
    const created = await fhir.post('Patient', { resourceType: 'Patient', name: [{ family: marker }] }, { 'X-Request-Id': 'req-log-test-1' });
    expect(created.headers.get('x-request-id')).toBe('req-log-test-1');
    await fhir.get(`Patient?name=${marker}`);
    await fhir.post('Patient', { resourceType: 'Patient', name: [{ family: marker }], gender: 'bloke' });
    await fhir.request('POST', 'Patient', { raw: `{"name": "${marker}"`, headers: { 'Content-Type': 'application/fhir+json' } });
    const lines = server.logs.map((l) => JSON.parse(l) as Record<string, any>);
    const mine = lines.filter((l) => l.requestId === 'req-log-test-1' || l.audit?.requestId === 'req-log-test-1');
    expect(mine.some((l) => l.msg === 'http request' && l.status === 201)).toBe(true);
    expect(mine.some((l) => l.audit?.interaction === 'create' && l.audit?.id === created.body.id && l.audit?.versionId === '1' && l.audit?.outcome === 'ok')).toBe(true);
    const refused = lines.find((l) => l.audit?.interaction === 'create' && l.audit?.outcome === 'invalid-resource');
    expect(refused).toBeDefined();
    expect(server.logs.join('\n')).not.toContain(marker);
  });

  it('an unknown route or error never leaks a stack trace into the response', async () => {
    const res = await fetch(`${server.fhirUrl}/Patient/%E0%A4%A`, { headers: authHeaders(server.fhirUrl) });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text).not.toMatch(/at .+:\d+:\d+/);
  });
});
