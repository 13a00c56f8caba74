import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { freePort, startServer, type TestServer } from '../support/server.js';
import { fhirClient } from '../support/fhir-client.js';
import { browser } from './support/browser.js';
import { adminApi, authorizationRequest, tokenRequest } from './support/oauth.js';
import { recordOf, seed } from './fixtures.js';

// What the embedded server keeps in DATA_DIR/auth survives a restart: keys, accounts, clients,
// grants with their launch patient, refresh tokens.
const APP = 'https://portal.example/cb';
let server: TestServer;

beforeAll(async () => {
  const port = await freePort();
  server = await startServer({ PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` });
  await seed(fhirClient(server.fhirUrl), recordOf('p1'));
});
afterAll(() => server.destroy());

describe('a restart of the server', () => {
  it('keeps refresh tokens, their launch patient, users and clients', async () => {
    const clientId = (await adminApi(server, 'POST', '/admin/clients', { name: 'Portal', kind: 'public', redirectUris: [APP], scope: 'openid launch/patient offline_access patient/*.rs' })).json.client_id;
    const user = (await adminApi(server, 'POST', '/admin/users', { username: 'pat', roles: ['patient'], fhirUser: 'Patient/p1' })).json;
    const { url, verifier } = authorizationRequest(server, clientId, APP, 'openid launch/patient offline_access patient/*.rs');
    const agent = browser(APP);
    const change = await agent.submit(await agent.go(url), { username: 'pat', password: user.oneTimePassword });
    const consent = await agent.submit(change, { password: 'a patient passphrase', repeat: 'a patient passphrase' });
    const done = await agent.submit(consent, { decision: 'allow' });
    const first = (await tokenRequest(server, { grant_type: 'authorization_code', code: done.callback!.searchParams.get('code')!, redirect_uri: APP, client_id: clientId, code_verifier: verifier })).json;
    expect(first.refresh_token).toBeTruthy();

    server = await server.restart();
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: clientId });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.patient).toBe('p1');
    expect(decodeJwt(refreshed.json.access_token)).toMatchObject({ patient: 'p1', fhirUser: 'Patient/p1' });
    expect((await fhirClient(server.fhirUrl, { token: refreshed.json.access_token }).get('Patient/p1')).status).toBe(200);
    // An access token from before the restart still verifies: the signing keys are the same.
    expect((await fhirClient(server.fhirUrl, { token: first.access_token }).get('Patient/p1')).status).toBe(200);
  });
});
