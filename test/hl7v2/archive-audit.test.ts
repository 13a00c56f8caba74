import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_ACCESS, ARCHIVED_MESSAGE } from '../../src/audit/archive-access-event.js';
import { fhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { ADT, ackCode } from './support.js';

/**
 * Reading the HL7 v2 archive exposes raw messages (PHI): every access with a verified token is
 * exactly one AuditEvent, done or refused (issue 16), naming the caller, the messages and their
 * patients. Each call carries its own X-Request-Id, which its event names.
 */
let server: TestServer;
let applied: { id: string; patient: string };
let rejected: string;
let seq = 0;

const OPERATOR = { scope: 'system/hl7v2.read', clientId: 'integrator', subject: 'integrator-sub' };
const ADMIN_OPERATOR = { scope: 'user/hl7v2.read', role: 'admin', fhirUser: 'Practitioner/a1', clientId: 'console' };
const CLINICAL = { scope: 'system/Practitioner.rs', clientId: 'directory' };

async function call(who: object | undefined, method: string, path: string): Promise<{ status: number; body: any; requestId: string }> {
  const requestId = `archive-audit-${++seq}-${Date.now()}`;
  const headers: Record<string, string> = { 'X-Request-Id': requestId, ...(who ? { Authorization: `Bearer ${await server.token(who)}` } : {}) };
  const res = await fetch(`${server.origin}${path}`, { method, headers });
  return { status: res.status, body: await res.json(), requestId };
}

/** The AuditEvents naming a request id, searched as an auditor (admin role). */
async function eventsOf(requestId: string): Promise<AuditEvent[]> {
  const token = await server.token({ role: 'admin', scope: 'user/AuditEvent.rs', fhirUser: 'Practitioner/auditor' });
  const res = await fhirClient(server.fhirUrl, { token }).get<Bundle>(`AuditEvent?entity:identifier=${requestId}&_count=50`);
  expect(res.status).toBe(200);
  return (res.body.entry ?? []).map((e) => e.resource as AuditEvent);
}

/** The archive access events of a request (a replay's transaction has its own Import event besides). */
const accessesOf = async (requestId: string) => (await eventsOf(requestId)).filter((e) => e.subtype?.some((s) => s.system === ARCHIVE_ACCESS));
const accessOf = (e: AuditEvent) => [e.subtype?.find((s) => s.system === 'http://hl7.org/fhir/restful-interaction')?.code, e.subtype?.find((s) => s.system === ARCHIVE_ACCESS)?.code, e.action, e.outcome];
const messagesNamed = (e: AuditEvent) => (e.entity ?? []).filter((x) => x.what?.identifier?.system === ARCHIVED_MESSAGE).map((x) => x.what?.identifier?.value);
const patientsNamed = (e: AuditEvent) => (e.entity ?? []).filter((x) => x.what?.reference?.startsWith('Patient/')).map((x) => x.what?.reference);
const requestor = (e: AuditEvent) => e.agent?.find((a) => a.requestor);

const post = async (message: string, scope: string) =>
  fetch(`${server.origin}/hl7/v2`, { method: 'POST', headers: { 'Content-Type': 'x-application/hl7-v2+er7', Authorization: `Bearer ${await server.token({ scope })}` }, body: message });

beforeAll(async () => {
  server = await startServer();
  expect(ackCode(await (await post(ADT('AUD-1', 'MRN-AUD1', 'Archived'), 'system/*.*')).text()).code).toBe('AA');
  // A token without write scopes: AR, replayed below.
  expect(ackCode(await (await post(ADT('AUD-2', 'MRN-AUD2', 'Replayable'), 'system/*.read')).text()).code).toBe('AR');
  const listed = (await call(OPERATOR, 'GET', '/hl7/messages?controlId=AUD-1')).body.messages[0];
  applied = { id: listed.id, patient: listed.resources.find((r: string) => r.startsWith('Patient/')) };
  rejected = (await call(OPERATOR, 'GET', '/hl7/messages?controlId=AUD-2')).body.messages[0].id;
});
afterAll(() => server.destroy());

describe('HL7 v2 archive accesses are audited', () => {
  it('a read is one event: the caller, the message and the patient it wrote, in that patient\'s trail', async () => {
    const res = await call(OPERATOR, 'GET', `/hl7/messages/${applied.id}`);
    expect(res.status).toBe(200);
    expect(res.body.raw).toContain('Archived');
    const events = await eventsOf(res.requestId);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(accessOf(event)).toEqual(['read', 'read', 'R', '0']);
    expect(event.type?.code).toBe('rest');
    expect(messagesNamed(event)).toEqual([applied.id]);
    expect(patientsNamed(event)).toEqual([applied.patient]);
    expect(requestor(event)).toMatchObject({ who: { display: 'integrator' }, altId: 'integrator-sub' });
    expect(JSON.stringify(event)).not.toContain('Archived');
    const trail = await fhirClient(server.fhirUrl).get<Bundle>(`AuditEvent?patient=${applied.patient}&subtype=${ARCHIVE_ACCESS}|read`);
    expect(trail.body.entry?.map((e) => e.resource?.id)).toContain(event.id);
  });

  it('a list is one event naming every message listed', async () => {
    const res = await call(ADMIN_OPERATOR, 'GET', '/hl7/messages?controlId=AUD-1');
    expect(res.status).toBe(200);
    const events = await eventsOf(res.requestId);
    expect(events).toHaveLength(1);
    expect(accessOf(events[0])).toEqual(['search', 'list', 'E', '0']);
    expect(messagesNamed(events[0])).toEqual(res.body.messages.map((m: { id: string }) => m.id));
    expect(requestor(events[0])?.who?.reference).toBe('Practitioner/a1');
  });

  it.each([
    ['read', 'GET', (): string => `/hl7/messages/${applied.id}`, ['read', 'read', 'R', '4']],
    ['list', 'GET', (): string => '/hl7/messages', ['search', 'list', 'E', '4']],
    ['replay', 'POST', (): string => `/hl7/messages/${rejected}/$replay`, ['operation', 'replay', 'E', '4']],
  ] as const)('a %s without the archive grant is refused (403) and recorded once, outcome 4', async (_access, method, path, expected) => {
    const res = await call(CLINICAL, method, path());
    expect(res.status).toBe(403);
    const events = await eventsOf(res.requestId);
    expect(events).toHaveLength(1);
    expect(accessOf(events[0])).toEqual(expected);
    expect(events[0].outcomeDesc).toBe('forbidden');
    expect(requestor(events[0])?.who?.display).toBe('directory');
  });

  it('a read of an unknown message is recorded as failed; a request without a token is answered 401 unrecorded', async () => {
    const missing = await call(OPERATOR, 'GET', '/hl7/messages/no-such-message');
    expect(missing.status).toBe(404);
    const events = await eventsOf(missing.requestId);
    expect(events.map((e) => [...accessOf(e), e.outcomeDesc, messagesNamed(e)[0]])).toEqual([['read', 'read', 'R', '4', 'not-found', 'no-such-message']]);
    const anonymous = await call(undefined, 'GET', `/hl7/messages/${applied.id}`);
    expect(anonymous.status).toBe(401);
    expect(await eventsOf(anonymous.requestId)).toEqual([]);
  });

  it('a replay is one access event; the transaction it runs is the message\'s Import event, as for any message', async () => {
    // The replayed message runs with the caller's token: an operator who may also write.
    const res = await call({ ...OPERATOR, scope: 'system/*.*' }, 'POST', `/hl7/messages/${rejected}/$replay`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ack: 'AA', message: { outcome: 'applied' } });
    const accesses = await accessesOf(res.requestId);
    expect(accesses).toHaveLength(1);
    expect(accessOf(accesses[0])).toEqual(['operation', 'replay', 'E', '0']);
    expect(messagesNamed(accesses[0])).toEqual([rejected]);
    expect(patientsNamed(accesses[0])).toEqual(res.body.message.resources.filter((r: string) => r.startsWith('Patient/')));
    const imports = (await eventsOf(res.requestId)).filter((e) => e.type?.code === '110107');
    expect(imports).toHaveLength(1);
    expect(requestor(imports[0])?.who?.display).toBe('integrator');
  });
});
