import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';
import { ADT, ackCode, rawConnection } from './support.js';

/** Who reads the HL7 v2 archive (issue 15, item 6): only an explicit grant, never any system/ scope or the admin role alone. */
let server: TestServer;
let id: string;

beforeAll(async () => {
  server = await startServer({ AUDIT_SINK: 'log' });
  const conn = await rawConnection(server.app.hl7.port()!);
  conn.send(ADT('ACCESS-1', 'MRN-ACCESS', 'Secret'));
  expect(ackCode(await conn.frame(1)).code).toBe('AA');
  conn.end();
  const listed = await fetch(`${server.origin}/hl7/messages?controlId=ACCESS-1`, { headers: { Authorization: `Bearer ${await server.token({ scope: 'system/hl7v2.read' })}` } });
  id = ((await listed.json()) as { messages: Array<{ id: string }> }).messages[0].id;
});
afterAll(() => server.destroy());

const get = async (path: string, token: string) => fetch(`${server.origin}${path}`, { headers: { Authorization: `Bearer ${token}` } });

describe('the HL7 v2 message archive', () => {
  it.each([
    ['a backend service with a clinical system/ scope', { scope: 'system/Practitioner.rs' }],
    ['an admin without the archive scope', { scope: 'user/*.cruds', role: 'admin', fhirUser: 'Practitioner/a1' }],
    ['a practitioner with user/hl7v2.read', { scope: 'user/hl7v2.read user/*.rs', role: 'practitioner', fhirUser: 'Practitioner/d1' }],
  ])('%s is refused (403)', async (_who, options) => {
    const token = await server.token(options);
    for (const path of ['/hl7/messages', `/hl7/messages/${id}`]) {
      const res = await get(path, token);
      expect(res.status).toBe(403);
      expect(await res.text()).not.toContain('Secret');
    }
  });

  it.each([
    ['a backend service with system/hl7v2.read', { scope: 'system/hl7v2.read' }],
    ['an admin with user/hl7v2.read', { scope: 'user/hl7v2.read', role: 'admin', fhirUser: 'Practitioner/a1' }],
  ])('%s reads it', async (_who, options) => {
    const res = await get(`/hl7/messages/${id}`, await server.token(options));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { raw: string }).raw).toContain('Secret');
  });
});
