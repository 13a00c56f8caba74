import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import smart from 'fhirclient';
import { currentTotp } from '../../src/auth/server/totp.js';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient } from '../support/fhir-client.js';
import { browser } from './support/browser.js';
import { fixtures, recordOf, seed } from './fixtures.js';

// Standalone and EHR launches driven by fhirclient (SMART's reference JS client) against the running
// server: the user signs in through the real pages (password, TOTP enrolment, new password, consent).
const APP = 'http://127.0.0.1:9/app';
let server: TestServer;
let clientId: string;
const user = { username: 'dr.house', password: '' };
let totpSecret = '';

async function adminPost(path: string, body: unknown): Promise<any> {
  const token = await server.token({ role: 'admin', scope: 'openid', fhirUser: 'Practitioner/admin' });
  const res = await fetch(`${server.origin}/auth${path}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** fhirclient's Node adapter works on request/response pairs; these stand in for the app's own HTTP server. */
function appRequest(path: string): { req: IncomingMessage; res: ServerResponse } {
  const req = { url: path, headers: { host: '127.0.0.1:9' }, socket: {} } as unknown as IncomingMessage;
  const res = { writeHead: () => undefined, end: () => undefined } as unknown as ServerResponse;
  return { req, res };
}
function appStorage() {
  const data = new Map<string, unknown>();
  return { get: async (k: string) => data.get(k), set: async (k: string, v: unknown) => void data.set(k, v), unset: async (k: string) => data.delete(k) };
}

async function launch(scope: string, launchId?: string) {
  const storage = appStorage();
  const start = appRequest('/app/launch');
  const authorizeUrl = (await smart(start.req, start.res, storage).authorize({ iss: server.fhirUrl, clientId, scope, redirectUri: `${APP}/callback`, noRedirect: true, ...(launchId ? { launch: launchId } : {}) })) as string;
  return { storage, authorizeUrl, agent: browser(APP) };
}

async function complete(storage: ReturnType<typeof appStorage>, callback: URL) {
  const back = appRequest(`${callback.pathname}${callback.search}`);
  return smart(back.req, back.res, storage).ready();
}

beforeAll(async () => {
  server = await startServer();
  await seed(fhirClient(server.fhirUrl), [...recordOf('p1'), ...recordOf('p2'), fixtures.practitioner('d1')]);
  const created = await adminPost('/admin/users', { username: user.username, roles: ['practitioner'], fhirUser: 'Practitioner/d1' });
  user.password = created.oneTimePassword;
  const client = await adminPost('/admin/clients', { name: 'Chart viewer', kind: 'public', redirectUris: [`${APP}/callback`], scope: 'openid fhirUser launch launch/patient offline_access patient/*.rs user/*.rs' });
  clientId = client.client_id;
});
afterAll(() => server.destroy());

describe('SMART App Launch with fhirclient', () => {
  it('standalone launch: first sign-in with TOTP enrolment and a new password, patient picker, PKCE, refresh', async () => {
    const { storage, authorizeUrl, agent } = await launch('openid fhirUser launch/patient offline_access patient/*.rs');
    expect(authorizeUrl).toContain('code_challenge_method=S256');
    const login = await agent.go(authorizeUrl);
    expect(login.html).toContain('name="password"');
    const enrol = await agent.submit(login, { username: user.username, password: user.password });
    expect(enrol.html).toMatch(/<img src="data:image\/png;base64,/);
    totpSecret = /<code>([A-Z2-7]+)<\/code>/.exec(enrol.html)![1];
    const wrong = await agent.submit(enrol, { code: '000000' });
    expect(wrong.status).toBe(401);
    const change = await agent.submit(wrong, { code: currentTotp(totpSecret) });
    expect(change.html).toContain('Choose a new password');
    user.password = 'a much better passphrase';
    const consent = await agent.submit(change, { password: user.password, repeat: user.password });
    expect(consent.html).toContain('patient/*.rs');
    // The picker is a search (issue 15 item 5; test/auth/patient-picker.test.ts).
    expect(consent.html).not.toContain('value="p2"');
    const found = await agent.submit(consent, { decision: 'search', name: 'Family' });
    expect(found.html).toContain('value="p2"');
    const done = await agent.submit(found, { decision: 'allow', patient: 'p1' });
    expect(done.callback?.searchParams.get('code')).toBeTruthy();

    const client = await complete(storage, done.callback!);
    expect(client.patient.id).toBe('p1');
    expect(client.getFhirUser()).toBe('Practitioner/d1');
    expect(client.state.tokenResponse?.refresh_token).toBeTruthy();
    expect((await client.patient.read()).id).toBe('p1');
    expect((await client.request('MedicationRequest/p1-mr')).id).toBe('p1-mr');
    await expect(client.request('MedicationRequest/p2-mr')).rejects.toMatchObject({ status: 403 });
    const before = client.state.tokenResponse!.access_token;
    // A public client identifies itself on refresh (fhirclient's documented option for such servers).
    (client.environment as unknown as { options: Record<string, unknown> }).options.refreshTokenWithClientId = true;
    await client.refresh();
    expect(client.state.tokenResponse!.patient).toBe('p1');
    expect(client.state.tokenResponse!.access_token).not.toBe(before);
    expect((await client.request('Patient/p1')).id).toBe('p1');
  });

  it('EHR launch: the EHR creates a launch for p2; the second sign-in asks for a TOTP code', async () => {
    const ehrUser = await server.token({ role: 'practitioner', scope: 'user/*.rs', fhirUser: 'Practitioner/d1' });
    const res = await fetch(`${server.origin}/auth/launch`, { method: 'POST', headers: { Authorization: `Bearer ${ehrUser}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ patient: 'p2' }) });
    expect(res.status).toBe(201);
    const { launch: launchId } = (await res.json()) as { launch: string };
    const { storage, authorizeUrl, agent } = await launch('launch openid fhirUser patient/*.rs', launchId);
    const login = await agent.go(authorizeUrl);
    const totp = await agent.submit(login, { username: user.username, password: user.password });
    expect(totp.html).toContain('Verification code');
    // The enrolment used the current time step; a code is good once, so use the next one.
    const consent = await agent.submit(totp, { code: currentTotp(totpSecret, Date.now() + 30_000) });
    expect(consent.html).not.toContain('name="patient"');
    const done = await agent.submit(consent, { decision: 'allow' });
    const client = await complete(storage, done.callback!);
    expect(client.patient.id).toBe('p2');
    await expect(client.request('Patient/p1')).rejects.toMatchObject({ status: 403 });
  });

  it('refuses a wrong aud and an authorization without PKCE', async () => {
    const base = `${server.origin}/auth/authorize?response_type=code&client_id=${clientId}&redirect_uri=${encodeURIComponent(`${APP}/callback`)}&scope=openid&state=s`;
    const wrongAud = await browser(APP).go(`${base}&aud=${encodeURIComponent('https://other.example/fhir')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`);
    expect(wrongAud.callback?.searchParams.get('error')).toBe('invalid_request');
    const noPkce = await browser(APP).go(`${base}&aud=${encodeURIComponent(server.fhirUrl)}`);
    expect(noPkce.callback?.searchParams.get('error')).toBe('invalid_request');
  });
});
