import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { LOCKOUT } from '../../src/auth/server/accounts.js';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient } from '../support/fhir-client.js';
import { browser } from './support/browser.js';
import { adminApi, authorizationRequest, tokenRequest } from './support/oauth.js';
import { recordOf, seed } from './fixtures.js';

const APP = 'https://app.example/callback';
let server: TestServer;
let clientId: string;

const admin = (method: string, path: string, body?: unknown) => adminApi(server, method, path, body);
const authorize = (scope: string) => authorizationRequest(server, clientId, APP, scope);
async function exchange(code: string, verifier: string): Promise<Record<string, any>> {
  return (await tokenRequest(server, { grant_type: 'authorization_code', code, redirect_uri: APP, client_id: clientId, code_verifier: verifier })).json;
}

beforeAll(async () => {
  server = await startServer();
  await seed(fhirClient(server.fhirUrl), [...recordOf('p1'), ...recordOf('p2')]);
  clientId = (await admin('POST', '/admin/clients', { name: 'Patient portal', kind: 'public', redirectUris: [APP], scope: 'openid fhirUser launch/patient patient/*.rs user/*.rs' })).json.client_id;
});
afterAll(() => server.destroy());

describe('signing in to the embedded server', () => {
  it('a patient signs in (no second factor required), sets a password, and gets their own record as launch patient', async () => {
    const created = await admin('POST', '/admin/users', { username: 'pat', roles: ['patient'], fhirUser: 'Patient/p1' });
    expect(created.status).toBe(201);
    const { url, verifier } = authorize('openid fhirUser launch/patient patient/*.rs');
    const agent = browser(APP);
    const login = await agent.go(url);
    const change = await agent.submit(login, { username: 'pat', password: created.json.oneTimePassword });
    expect(change.html).toContain('Choose a new password');
    const short = await agent.submit(change, { password: 'short', repeat: 'short' });
    expect(short.status).toBe(400);
    const consent = await agent.submit(short, { password: 'patient passphrase 1', repeat: 'patient passphrase 1' });
    expect(consent.html).not.toContain('name="patient"');
    const done = await agent.submit(consent, { decision: 'allow' });
    const tokens = await exchange(done.callback!.searchParams.get('code')!, verifier);
    expect(tokens.patient).toBe('p1');
    expect(decodeJwt(tokens.access_token)).toMatchObject({ role: ['patient'], fhirUser: 'Patient/p1', patient: 'p1', aud: server.fhirUrl });
    const fhir = fhirClient(server.fhirUrl, { token: tokens.access_token });
    expect((await fhir.get('Consent/p1-consent')).status).toBe(200);
    expect((await fhir.get('Consent/p2-consent')).status).toBe(403);
    // The one-time password no longer works.
    const again = browser(APP);
    const page = await again.go(authorize('openid').url);
    expect((await again.submit(page, { username: 'pat', password: created.json.oneTimePassword })).status).toBe(401);
  });

  it('denying consent sends the user back with access_denied', async () => {
    const { url } = authorize('openid fhirUser launch/patient patient/*.rs');
    const agent = browser(APP);
    const consent = await agent.submit(await agent.go(url), { username: 'pat', password: 'patient passphrase 1' });
    const done = await agent.submit(consent, { decision: 'deny' });
    expect(done.callback?.searchParams.get('error')).toBe('access_denied');
  });

  it(`locks the account after ${LOCKOUT.attempts} wrong passwords; an admin unlocks it`, async () => {
    const agent = browser(APP);
    let page = await agent.go(authorize('openid').url);
    for (let i = 0; i < LOCKOUT.attempts; i++) page = await agent.submit(page, { username: 'pat', password: `wrong ${i}` });
    expect(page.html).toContain('locked');
    page = await agent.submit(page, { username: 'pat', password: 'patient passphrase 1' });
    expect(page.status).toBe(401);
    expect(page.html).toContain('locked');
    const users = (await admin('GET', '/admin/users')).json as Array<{ id: string; username: string; locked: boolean }>;
    const pat = users.find((u) => u.username === 'pat')!;
    expect(pat.locked).toBe(true);
    expect((await admin('POST', `/admin/users/${pat.id}/unlock`)).status).toBe(204);
    const consent = await agent.submit(page, { username: 'pat', password: 'patient passphrase 1' });
    // Signed in: on to consent (or straight back to the app when consent was given before).
    expect(Boolean(consent.callback?.searchParams.get('code')) || consent.html.includes('Allow access')).toBe(true);
  });

  it('only admins manage users', async () => {
    const practitioner = await server.token({ role: 'practitioner', scope: 'user/*.rs', fhirUser: 'Practitioner/d1' });
    const res = await fetch(`${server.origin}/auth/admin/users`, { headers: { Authorization: `Bearer ${practitioner}` } });
    expect(res.status).toBe(403);
    expect((await admin('POST', '/admin/users', { username: 'bad', roles: ['wizard'] })).status).toBe(400);
  });
});
