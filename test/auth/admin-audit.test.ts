import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ACTION } from '../../src/audit/admin-event.js';
import { fhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { adminApi } from './support/oauth.js';

/** Administrative actions at the embedded server are in the audit trail (issue 15, item 6). */
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ AUDIT_SINK: 'store' });
});
afterAll(() => server.destroy());

describe('admin audit', () => {
  it('creating, unlocking, resetting and removing users, registering and removing clients are each recorded with the admin and the target', async () => {
    const user = (await adminApi(server, 'POST', '/admin/users', { username: 'audited', roles: ['patient'], fhirUser: 'Patient/p1' })).json;
    expect((await adminApi(server, 'POST', `/admin/users/${user.id}/unlock`)).status).toBe(204);
    expect((await adminApi(server, 'POST', `/admin/users/${user.id}/reset-mfa`)).status).toBe(204);
    expect((await adminApi(server, 'DELETE', `/admin/users/${user.id}`)).status).toBe(204);
    const client = (await adminApi(server, 'POST', '/admin/clients', { name: 'App', kind: 'public', redirectUris: ['https://app.example/cb'], scope: 'openid patient/*.rs' })).json;
    expect((await adminApi(server, 'DELETE', `/admin/clients/${client.client_id}`)).status).toBe(204);

    const trail = await fhirClient(server.fhirUrl).get<Bundle>('AuditEvent?type=http://dicom.nema.org/resources/ontology/DCM|110137&_count=100');
    const events = (trail.body.entry ?? []).map((e) => e.resource as AuditEvent);
    const seen = events.map((e) => [e.subtype?.find((s) => s.system === ADMIN_ACTION)?.code, e.action, e.entity?.[0]?.what?.identifier?.value]);
    expect(seen).toEqual(
      expect.arrayContaining([
        ['create-user', 'C', user.id],
        ['unlock-user', 'U', user.id],
        ['reset-mfa', 'U', user.id],
        ['remove-user', 'D', user.id],
        ['register-client', 'C', client.client_id],
        ['remove-client', 'D', client.client_id],
      ]),
    );
    expect(events.every((e) => e.agent?.[0]?.requestor === true && e.outcome === '0')).toBe(true);
  });
});

/**
 * Issue 16: every request to the admin API with a verified token is exactly one AuditEvent, done or
 * refused, written by the one audit writer around the action. Each call carries its own
 * X-Request-Id, which its event names (`AuditEvent?entity:identifier=`).
 */
describe('admin API: one AuditEvent per request, refusals included', () => {
  let seq = 0;
  const ADMIN = { role: 'admin', scope: 'openid', fhirUser: 'Practitioner/admin', subject: 'admin-sub', clientId: 'console' };
  const PRACTITIONER = { role: 'practitioner', scope: 'openid user/*.rs', fhirUser: 'Practitioner/d1', subject: 'doc-sub', clientId: 'chart' };

  async function call(who: typeof ADMIN | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; json: any; requestId: string }> {
    const requestId = `admin-audit-${++seq}-${Date.now()}`;
    const headers: Record<string, string> = { 'X-Request-Id': requestId, 'Content-Type': 'application/json', ...(who ? { Authorization: `Bearer ${await server.token(who)}` } : {}) };
    const res = await fetch(`${server.origin}/auth${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, json: res.status === 204 ? undefined : await res.json(), requestId };
  }

  /** The AuditEvents naming a request id, searched as an auditor (admin role) would. */
  async function eventsOf(requestId: string): Promise<AuditEvent[]> {
    const token = await server.token({ role: 'admin', scope: 'user/AuditEvent.rs', fhirUser: 'Practitioner/auditor' });
    const res = await fhirClient(server.fhirUrl, { token }).get<Bundle>(`AuditEvent?entity:identifier=${requestId}&_count=10`);
    expect(res.status).toBe(200);
    return (res.body.entry ?? []).map((e) => e.resource as AuditEvent);
  }

  const actionOf = (e: AuditEvent) => e.subtype?.find((s) => s.system === ADMIN_ACTION)?.code;
  const requestor = (e: AuditEvent) => e.agent?.find((a) => a.requestor);

  it('each action, done, is one event with its action, the caller and what it acted on', async () => {
    const user = await call(ADMIN, 'POST', '/admin/users', { username: 'once', roles: ['patient'], fhirUser: 'Patient/p1' });
    const client = await call(ADMIN, 'POST', '/admin/clients', { name: 'Once', kind: 'public', redirectUris: ['https://once.example/cb'], scope: 'openid patient/*.rs' });
    expect([user.status, client.status]).toEqual([201, 201]);
    const userId = user.json.id as string;
    const clientId = client.json.client_id as string;
    const calls: Array<[Awaited<ReturnType<typeof call>>, string, string, string | undefined]> = [
      [user, 'create-user', 'C', userId],
      [client, 'register-client', 'C', clientId],
      [await call(ADMIN, 'GET', '/admin/users'), 'list-users', 'E', undefined],
      [await call(ADMIN, 'GET', '/admin/clients'), 'list-clients', 'E', undefined],
      [await call(ADMIN, 'POST', `/admin/users/${userId}/unlock`), 'unlock-user', 'U', userId],
      [await call(ADMIN, 'POST', `/admin/users/${userId}/reset-mfa`), 'reset-mfa', 'U', userId],
      [await call(ADMIN, 'DELETE', `/admin/users/${userId}`), 'remove-user', 'D', userId],
      [await call(ADMIN, 'DELETE', `/admin/clients/${clientId}`), 'remove-client', 'D', clientId],
    ];
    for (const [res, action, crud, target] of calls) {
      expect(res.status, action).toBeLessThan(300);
      const events = await eventsOf(res.requestId);
      expect(events, action).toHaveLength(1);
      const [event] = events;
      expect([actionOf(event), event.action, event.outcome]).toEqual([action, crud, '0']);
      expect(requestor(event)?.who?.reference).toBe('Practitioner/admin');
      expect(requestor(event)?.altId).toBe('admin-sub');
      expect(requestor(event)?.role?.[0]?.coding?.[0]?.code).toBe('admin');
      expect(event.agent?.some((a) => !a.requestor && a.who?.display === 'console')).toBe(true);
      expect(event.entity?.find((e) => e.what?.identifier?.system?.startsWith('urn:fhirgate:auth:'))?.what?.identifier?.value).toBe(target);
    }
  });

  it('an EHR launch is one event naming the patient, found in the patient\'s trail', async () => {
    const res = await call(PRACTITIONER, 'POST', '/launch', { patient: 'launch-p7' });
    expect(res.status).toBe(201);
    const [event, ...more] = await eventsOf(res.requestId);
    expect(more).toEqual([]);
    expect([actionOf(event), event.action, event.outcome, event.type?.code]).toEqual(['create-launch', 'C', '0', 'rest']);
    expect(requestor(event)?.who?.reference).toBe('Practitioner/d1');
    const trail = await fhirClient(server.fhirUrl).get<Bundle>(`AuditEvent?patient=Patient/launch-p7&subtype=${ADMIN_ACTION}|create-launch`);
    expect(trail.body.entry?.map((e) => e.resource?.id)).toEqual([event.id]);
  });

  it.each([
    ['a practitioner listing users', PRACTITIONER, 'GET', '/admin/users', undefined, 'list-users', 'insufficient_scope'],
    ['a practitioner creating a user', PRACTITIONER, 'POST', '/admin/users', { username: 'nope', roles: ['admin'] }, 'create-user', 'insufficient_scope'],
    ['a practitioner removing a client', PRACTITIONER, 'DELETE', '/admin/clients/some-client', undefined, 'remove-client', 'insufficient_scope'],
    ['an admin registering a backend client', ADMIN, 'POST', '/admin/clients', { name: 'Backdoor', kind: 'backend', scope: 'system/*.rs' }, 'register-client', 'insufficient_scope'],
    ['an admin starting an EHR launch', ADMIN, 'POST', '/launch', { patient: 'p1' }, 'create-launch', 'insufficient_scope'],
  ] as const)('%s is refused (403) and that refusal is one event, outcome 4', async (_name, who, method, path, body, action, code) => {
    const res = await call(who, method, path, body);
    expect(res.status).toBe(403);
    const events = await eventsOf(res.requestId);
    expect(events).toHaveLength(1);
    expect([actionOf(events[0]), events[0].outcome, events[0].outcomeDesc]).toEqual([action, '4', code]);
    expect(requestor(events[0])?.who?.reference).toBe(who.fhirUser);
  });

  it('a failed action is one event with the error; a request without a valid token is answered 401 unrecorded', async () => {
    const missing = await call(ADMIN, 'POST', '/admin/users/no-such-user/unlock');
    expect(missing.status).toBe(404);
    const [event, ...more] = await eventsOf(missing.requestId);
    expect(more).toEqual([]);
    expect([actionOf(event), event.outcome, event.outcomeDesc, event.entity?.[0]?.what?.identifier?.value]).toEqual(['unlock-user', '4', 'not_found', 'no-such-user']);
    const invalid = await call(ADMIN, 'POST', '/admin/users', { username: 'bad', roles: ['wizard'] });
    expect(invalid.status).toBe(400);
    expect((await eventsOf(invalid.requestId)).map((e) => [actionOf(e), e.outcome, e.outcomeDesc])).toEqual([['create-user', '4', 'invalid_request']]);

    const anonymous = await call(undefined, 'GET', '/admin/users');
    expect(anonymous.status).toBe(401);
    expect(await eventsOf(anonymous.requestId)).toEqual([]);
  });
});
