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
