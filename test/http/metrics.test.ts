import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ackCodeOf } from '../../src/hl7v2/observed-handler.js';
import { ADT, useMllpServer } from '../hl7v2/support.js';
import { fhirClient, errorCode } from '../support/fhir-client.js';
import { freePort, startServer, type TestServer } from '../support/server.js';

/** Prometheus `/metrics` (issue 18 item 6), read through HTTP like a scraper, moved by real HTTP requests and a real MLLP socket. */

/** The value of one sample of a Prometheus text exposition (0 when the series does not exist yet). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.keys(found).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return 0;
}

async function scrape(url: string, token?: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('GET /metrics on the main port (default: protected)', () => {
  const mllp = useMllpServer();
  let admin: string;
  const metrics = async (): Promise<string> => {
    const { status, text } = await scrape(`${mllp.server.origin}/metrics`, admin);
    expect(status).toBe(200);
    return text;
  };
  beforeAll(async () => {
    admin = await mllp.server.token({ role: 'admin', scope: 'user/*.read' });
  });

  it('answers anonymous callers 401 and non-admin tokens 403, as OperationOutcomes, and admins with Prometheus text', async () => {
    const anonymous = await fetch(`${mllp.server.origin}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    expect(errorCode(await anonymous.json())).toBe('unauthorized');
    const forged = await scrape(`${mllp.server.origin}/metrics`, 'not.a.token');
    expect(forged.status).toBe(401);
    for (const token of [await mllp.server.token(), await mllp.server.token({ role: 'practitioner', scope: 'user/*.*' })]) {
      const refused = await fetch(`${mllp.server.origin}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
      expect(refused.status).toBe(403);
      expect(errorCode(await refused.json())).toBe('forbidden');
    }
    const ok = await scrape(`${mllp.server.origin}/metrics`, admin);
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.text).toContain('# TYPE fhirgate_http_requests_total counter');
    expect(ok.text).toContain('# TYPE fhirgate_process_cpu_seconds_total counter');
  });

  it('counts requests by interaction, resource type and status, and times them and the commits (data and audit)', async () => {
    const fhir = mllp.fhir;
    const before = await metrics();
    const created = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Metrics' }] });
    expect((await fhir.get(`Patient/${created.id}`)).status).toBe(200);
    expect((await fhir.get(`Patient/${created.id}`)).status).toBe(200);
    expect((await fhir.get('Patient/does-not-exist')).status).toBe(404);
    expect((await fhir.get('Patient?family=Metrics')).status).toBe(200);
    expect((await fhir.get('NoSuchType/1')).status).toBe(404);
    expect((await fhirClient(mllp.server.fhirUrl, { token: false }).get('Patient')).status).toBe(401);
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string> = {}): number => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('fhirgate_http_requests_total', { interaction: 'create', resource_type: 'Patient', status: '201' })).toBe(1);
    expect(delta('fhirgate_http_requests_total', { interaction: 'read', resource_type: 'Patient', status: '200' })).toBe(2);
    expect(delta('fhirgate_http_requests_total', { interaction: 'read', resource_type: 'Patient', status: '404' })).toBe(1);
    expect(delta('fhirgate_http_requests_total', { interaction: 'search-type', resource_type: 'Patient', status: '200' })).toBe(1);
    // A type nobody serves is one series, whatever the caller sends.
    expect(delta('fhirgate_http_requests_total', { interaction: 'read', resource_type: 'unknown', status: '404' })).toBe(1);
    expect(delta('fhirgate_http_requests_total', { interaction: 'none', resource_type: '', status: '401' })).toBe(1);
    expect(delta('fhirgate_http_request_duration_seconds_count', { interaction: 'read', resource_type: 'Patient' })).toBe(3);
    expect(sample(after, 'fhirgate_http_request_duration_seconds_bucket', { interaction: 'read', resource_type: 'Patient', le: '+Inf' })).toBe(sample(after, 'fhirgate_http_request_duration_seconds_count', { interaction: 'read', resource_type: 'Patient' }));
    // The create and its AuditEvent share one commit; the reads commit their AuditEvents.
    expect(delta('fhirgate_store_commit_duration_seconds_count', { content: 'data+audit', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(delta('fhirgate_audit_commit_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(5);
    expect(delta('fhirgate_audit_commit_duration_seconds_sum', { outcome: 'ok' })).toBeGreaterThan(0);
  });

  it('counts MLLP messages by ACK code, and the in-flight gauge returns to zero', async () => {
    const before = await metrics();
    expect(ackCodeOf((await mllp.send(ADT('MET-1', 'MRN-MET-1', 'Metrics')))!)).toBe('AA');
    expect(ackCodeOf((await mllp.send(ADT('MET-2', 'MRN-MET-2', 'Metrics')))!)).toBe('AA');
    // MSH-11 processing id D is not accepted (HL7_PROCESSING_IDS=P,T): an AR.
    const rejected = ADT('MET-3', 'MRN-MET-3', 'Metrics').replace('|MET-3|P|', '|MET-3|D|');
    expect(ackCodeOf((await mllp.send(rejected))!)).toBe('AR');
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string> = {}): number => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('fhirgate_mllp_messages_total', { ack_code: 'AA' })).toBe(2);
    expect(delta('fhirgate_mllp_messages_total', { ack_code: 'AR' })).toBe(1);
    expect(delta('fhirgate_mllp_acks_total', { ack_code: 'AA' })).toBe(2);
    expect(delta('fhirgate_mllp_message_duration_seconds_count')).toBe(3);
    expect(sample(after, 'fhirgate_hl7v2_inflight_messages')).toBe(0);
  });

  it('reports the depth of queues other features register', async () => {
    let depth = 3;
    mllp.server.app.metrics.addQueue('test-deliveries', () => depth);
    expect(sample(await metrics(), 'fhirgate_queue_depth', { queue: 'test-deliveries' })).toBe(3);
    depth = 0;
    expect(sample(await metrics(), 'fhirgate_queue_depth', { queue: 'test-deliveries' })).toBe(0);
  });
});

describe('METRICS_PORT and METRICS_TOKEN', () => {
  const TOKEN = 'metrics-scraper-token-0123456789abcdef';
  let server: TestServer;
  let metricsUrl: string;
  beforeAll(async () => {
    const port = await freePort();
    server = await startServer({ METRICS_PORT: String(port), METRICS_TOKEN: TOKEN });
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
  });
  afterAll(() => server.destroy());

  it('serves /metrics on its own port only, to the static token', async () => {
    expect((await scrape(`${server.origin}/metrics`, TOKEN)).status).toBe(404);
    expect((await scrape(metricsUrl)).status).toBe(401);
    expect((await scrape(metricsUrl, `${TOKEN}x`)).status).toBe(401);
    expect((await scrape(metricsUrl.replace('/metrics', '/other'), TOKEN)).status).toBe(404);
    expect((await fhirClient(server.fhirUrl).get('metadata')).status).toBe(200);
    const { status, text } = await scrape(metricsUrl, TOKEN);
    expect(status).toBe(200);
    expect(sample(text, 'fhirgate_http_requests_total', { interaction: 'capabilities', resource_type: '', status: '200' })).toBe(1);
  });

  it('takes the static token on the main port too when no METRICS_PORT is set', async () => {
    const main = await startServer({ METRICS_TOKEN: TOKEN });
    try {
      expect((await scrape(`${main.origin}/metrics`, TOKEN)).status).toBe(200);
      expect((await scrape(`${main.origin}/metrics`, TOKEN.slice(1))).status).toBe(401);
    } finally {
      await main.destroy();
    }
  });
});
