import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { recordOf, seed } from './fixtures.js';
import { browser } from './support/browser.js';
import { adminApi, authorizationRequest, tokenRequest } from './support/oauth.js';

/** Revocation honoured by the resource server on the next request (issue 15, item 13). */
const APP = 'https://app.example/callback';
let server: TestServer;
let clientId: string;

beforeAll(async () => {
  server = await startServer();
  await seed(fhirClient(server.fhirUrl), recordOf('p1'));
  clientId = (await adminApi(server, 'POST', '/admin/clients', { name: 'Portal', kind: 'public', redirectUris: [APP], scope: 'openid fhirUser launch/patient offline_access patient/*.rs' })).json.client_id;
});
afterAll(() => server.destroy());

async function introspect(token: string): Promise<Record<string, any>> {
  const res = await fetch(`${server.origin}/auth/token/introspection`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: clientId }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

describe('token introspection and revocation', () => {
  it('revoking the refresh token ends the grant: its access token is refused on the next request', async () => {
    const created = await adminApi(server, 'POST', '/admin/users', { username: 'rev', roles: ['patient'], fhirUser: 'Patient/p1' });
    const { url, verifier } = authorizationRequest(server, clientId, APP, 'openid fhirUser launch/patient offline_access patient/*.rs');
    const agent = browser(APP);
    const change = await agent.submit(await agent.go(url), { username: 'rev', password: created.json.oneTimePassword });
    const consent = await agent.submit(change, { password: 'revocation passphrase', repeat: 'revocation passphrase' });
    const done = await agent.submit(consent, { decision: 'allow' });
    const tokens = (await tokenRequest(server, { grant_type: 'authorization_code', code: done.callback!.searchParams.get('code')!, redirect_uri: APP, client_id: clientId, code_verifier: verifier })).json;
    expect(typeof decodeJwt(tokens.access_token).grant_id).toBe('string');
    const fhir = fhirClient(server.fhirUrl, { token: tokens.access_token });
    expect((await fhir.get('Patient/p1')).status).toBe(200);
    // Introspection of the JWT access token: what SMART asks for.
    const live = await introspect(tokens.access_token);
    expect(live).toMatchObject({ active: true, client_id: clientId, patient: 'p1', fhirUser: 'Patient/p1' });
    expect(live.scope).toContain('patient/*.rs');
    expect(live.exp).toBe(decodeJwt(tokens.access_token).exp);
    expect(await introspect('not-a-token')).toEqual({ active: false });

    const revoked = await fetch(`${server.origin}/auth/token/revocation`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: clientId }),
    });
    expect(revoked.status).toBe(200);
    const after = await fhir.get('Patient/p1');
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('invalid_token');
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    // The refresh token is gone too.
    expect((await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId })).status).toBe(400);
  });

  it('revoking the access token itself revokes its grant', async () => {
    const agent = browser(APP);
    const { url, verifier } = authorizationRequest(server, clientId, APP, 'openid fhirUser launch/patient patient/*.rs');
    const consent = await agent.submit(await agent.go(url), { username: 'rev', password: 'revocation passphrase' });
    const done = consent.callback ? consent : await agent.submit(consent, { decision: 'allow' });
    const tokens = (await tokenRequest(server, { grant_type: 'authorization_code', code: done.callback!.searchParams.get('code')!, redirect_uri: APP, client_id: clientId, code_verifier: verifier })).json;
    const fhir = fhirClient(server.fhirUrl, { token: tokens.access_token });
    expect((await fhir.get('Patient/p1')).status).toBe(200);
    const revoked = await fetch(`${server.origin}/auth/token/revocation`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token, client_id: clientId }),
    });
    expect(revoked.status).toBe(200);
    expect((await fhir.get('Patient/p1')).status).toBe(401);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
  });
});
