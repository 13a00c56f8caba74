import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountStore } from '../../src/auth/server/accounts.js';
import { pageCsp } from '../../src/auth/server/pages.js';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient } from '../support/fhir-client.js';
import { browser } from './support/browser.js';
import { adminApi, authorizationRequest, tokenRequest } from './support/oauth.js';
import { recordOf, seed } from './fixtures.js';
import path from 'node:path';

// Refresh as SMART describes it for public apps (app-launch.html#refresh-access-token): only
// grant_type and refresh_token, as fhirclient sends it by default; offline_access and online_access.
const APP = 'http://localhost:9/cb';
const password = 'a long enough passphrase';
let server: TestServer;
let publicId: string;
let confidential: { id: string; secret: string };

async function signInAndExchange(clientId: string, scope: string, auth: Record<string, string> = { client_id: clientId }, headers?: Record<string, string>) {
  const request = authorizationRequest(server, clientId, APP, scope);
  const agent = browser(APP);
  const login = await agent.go(request.url);
  expect(login.html).toContain('Sign in');
  const consent = await agent.submit(login, { username: 'pat', password });
  const done = await agent.submit(consent, { decision: 'allow' });
  const params = new URLSearchParams({ grant_type: 'authorization_code', code: done.callback!.searchParams.get('code')!, redirect_uri: APP, code_verifier: request.verifier, ...auth });
  const res = await fetch(`${server.origin}/auth/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body: params });
  return { html: { login: login.html, consent: consent.html }, json: (await res.json()) as Record<string, any> };
}

beforeAll(async () => {
  server = await startServer();
  await seed(fhirClient(server.fhirUrl), recordOf('p1'));
  await createAccountStore(path.join(server.dataDir, 'auth')).create({ username: 'pat', roles: ['patient'], fhirUser: 'Patient/p1', password });
  publicId = (await adminApi(server, 'POST', '/admin/clients', { name: 'Pocket record', kind: 'public', redirectUris: [APP], scope: 'openid launch/patient offline_access online_access patient/*.rs' })).json.client_id;
  const conf = await adminApi(server, 'POST', '/admin/clients', { name: 'Clinic server', kind: 'confidential', redirectUris: [APP], scope: 'openid launch/patient offline_access patient/*.rs' });
  confidential = { id: conf.json.client_id, secret: conf.json.client_secret };
});
afterAll(() => server.destroy());

describe('refresh tokens of public clients', () => {
  it('names the app on the sign-in page and refreshes with only grant_type and refresh_token', async () => {
    const { html, json } = await signInAndExchange(publicId, 'openid launch/patient offline_access patient/*.rs');
    expect(html.login).toContain('Pocket record asks to access');
    expect(html.login).not.toContain(publicId);
    expect(json.refresh_token).toBeTruthy();
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: json.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.access_token).toBeTruthy();
    expect(refreshed.json.patient).toBe('p1');
  });

  it('online_access gives a refresh token too; neither scope gives none', async () => {
    const online = await signInAndExchange(publicId, 'openid launch/patient online_access patient/*.rs');
    expect(online.json.refresh_token).toBeTruthy();
    expect(online.json.scope.split(' ')).toContain('online_access');
    expect((await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: online.json.refresh_token })).status).toBe(200);
    const none = await signInAndExchange(publicId, 'openid launch/patient patient/*.rs');
    expect(none.json.access_token).toBeTruthy();
    expect(none.json.refresh_token).toBeUndefined();
  });

  it('a confidential client still has to authenticate to refresh', async () => {
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(confidential.id)}:${encodeURIComponent(confidential.secret)}`).toString('base64')}`;
    const { json } = await signInAndExchange(confidential.id, 'openid launch/patient offline_access patient/*.rs', {}, { Authorization: basic });
    expect(json.refresh_token).toBeTruthy();
    const bare = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: json.refresh_token });
    expect(bare.status).toBe(400);
    expect(bare.json.error).toBe('invalid_request');
  });

  it('a made-up refresh token is refused as before', async () => {
    const res = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: 'not-a-token' });
    expect(res.status).toBe(400);
  });
});

describe('CSP of the sign-in and consent pages', () => {
  it.each([
    [undefined, "form-action 'self';"],
    ['https://app.example.org/cb', "form-action 'self' https://app.example.org/cb;"],
    ['http://localhost:9/app/index.html?x=1', "form-action 'self' http://localhost:9/app/index.html;"],
    ['https://app.example.org/a;b', "form-action 'self' https://app.example.org;"],
  ])('redirect URI %s → %s', (uri, expected) => {
    expect(pageCsp(uri)).toContain(expected);
    expect(pageCsp(uri)).toContain("frame-ancestors 'none'");
  });
});
