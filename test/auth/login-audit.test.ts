import path from 'node:path';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import * as oauth from 'openid-client';
import { createClientStore } from '../../src/auth/server/clients.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHENTICATION_METHOD } from '../../src/audit/authentication-event.js';
import { linkOf } from '../../src/audit/chain.js';
import { LOCKOUT } from '../../src/auth/server/accounts.js';
import { eventsOf } from '../audit/support.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { browser } from './support/browser.js';
import { adminApi, authorizationRequest, tokenRequest } from './support/oauth.js';

const APP = 'https://app.example/callback';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
let server: TestServer;
let clientId: string;
let auditor: FhirClient;

beforeAll(async () => {
  server = await startServer();
  clientId = (await adminApi(server, 'POST', '/admin/clients', { name: 'Portal', kind: 'public', redirectUris: [APP], scope: 'openid fhirUser patient/*.rs' })).json.client_id;
  // Read back as an administrator would: the admin role may read AuditEvents, nothing else clinical.
  auditor = fhirClient(server.fhirUrl, { token: await server.token({ role: 'admin', scope: 'user/AuditEvent.rs', fhirUser: 'Practitioner/admin' }) });
});
afterAll(() => server.destroy());

/** User-authentication AuditEvents (DCM 110114) with the given outcome, newest last. */
async function authentications(outcome: '0' | '4'): Promise<AuditEvent[]> {
  const res = await auditor.get<Bundle>(`AuditEvent?type=${DCM}|110114&outcome=${outcome}&_count=1000`);
  expect(res.status).toBe(200);
  // In the order they happened: their place in the hash chain.
  return eventsOf(res.body).sort((a, b) => linkOf(a)!.sequence - linkOf(b)!.sequence);
}
const method = (event: AuditEvent): string | undefined => event.subtype?.find((s) => s.system === AUTHENTICATION_METHOD)?.code;
const requestor = (event: AuditEvent) => event.agent?.find((a) => a.requestor);

describe('logins and token grants are audited (DCM 110114 User Authentication)', () => {
  it('a failed and a successful password login each leave an AuditEvent naming the account and its address', async () => {
    const user = await adminApi(server, 'POST', '/admin/users', { username: 'audited', roles: ['patient'], fhirUser: 'Patient/pa1' });
    const { url, verifier } = authorizationRequest(server, clientId, APP, 'openid fhirUser patient/*.rs');
    const agent = browser(APP);
    const login = await agent.go(url);
    const wrong = await agent.submit(login, { username: 'audited', password: 'not the password' });
    expect(wrong.status).toBe(401);
    const failed = (await authentications('4')).find((e) => requestor(e)?.who?.reference === 'Patient/pa1');
    expect(failed).toMatchObject({ action: 'E', outcomeDesc: 'invalid', subtype: [{ system: DCM, code: '110122' }, { code: 'password' }] });
    expect(requestor(failed!)?.network?.address).toMatch(/127\.0\.0\.1/);
    expect(failed!.agent?.some((a) => !a.requestor && a.who?.display === clientId)).toBe(true);

    const change = await agent.submit(wrong, { username: 'audited', password: user.json.oneTimePassword });
    const consent = await agent.submit(change, { password: 'a long enough passphrase', repeat: 'a long enough passphrase' });
    const done = await agent.submit(consent, { decision: 'allow' });
    const code = done.callback!.searchParams.get('code')!;
    const succeeded = (await authentications('0')).filter((e) => requestor(e)?.who?.reference === 'Patient/pa1');
    expect(succeeded.map(method)).toEqual(['password']);
    expect(succeeded[0].subtype?.[0]).toMatchObject({ system: DCM, code: '110122', display: 'Login' });
    expect(succeeded[0].source?.observer?.display).toBe(server.fhirUrl);

    // The token grant that follows is audited too, and so is a code used twice.
    expect((await tokenRequest(server, { grant_type: 'authorization_code', code, redirect_uri: APP, client_id: clientId, code_verifier: verifier })).status).toBe(200);
    expect((await tokenRequest(server, { grant_type: 'authorization_code', code, redirect_uri: APP, client_id: clientId, code_verifier: verifier })).status).toBe(400);
    const granted = (await authentications('0')).filter((e) => method(e) === 'authorization_code');
    expect(granted.map((e) => requestor(e)?.who?.reference)).toEqual(['Patient/pa1']);
    const refused = (await authentications('4')).filter((e) => method(e) === 'authorization_code');
    expect(refused.map((e) => e.outcomeDesc)).toEqual(['invalid_grant']);

    // Signing out (OpenID RP-initiated logout, confirmed on the server's page) is a Logout (DCM 110123).
    const confirm = await agent.go(`${server.origin}/auth/session/end`);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.html)?.[1];
    expect(xsrf).toBeDefined();
    expect((await agent.submit(confirm, { xsrf: xsrf!, logout: 'yes' })).status).toBe(200);
    const logouts = (await authentications('0')).filter((e) => e.subtype?.[0]?.code === '110123');
    expect(logouts.map((e) => requestor(e)?.who?.reference)).toEqual(['Patient/pa1']);
  });

  it(`records a lock-out: ${LOCKOUT.attempts} wrong passwords, then even the right one is refused as locked`, async () => {
    await adminApi(server, 'POST', '/admin/users', { username: 'locked-out', roles: ['patient'], fhirUser: 'Patient/pa2' });
    const agent = browser(APP);
    let page = await agent.go(authorizationRequest(server, clientId, APP, 'openid').url);
    for (let i = 0; i <= LOCKOUT.attempts; i++) page = await agent.submit(page, { username: 'locked-out', password: `wrong ${i}` });
    const reasons = (await authentications('4')).filter((e) => requestor(e)?.who?.reference === 'Patient/pa2').map((e) => e.outcomeDesc);
    expect(reasons).toEqual([...Array(LOCKOUT.attempts - 1).fill('invalid'), 'locked', 'locked']);
  });

  it('an unknown user name is recorded as tried, without a reference', async () => {
    const agent = browser(APP);
    const page = await agent.go(authorizationRequest(server, clientId, APP, 'openid').url);
    expect((await agent.submit(page, { username: 'nobody-here', password: 'whatever it is' })).status).toBe(401);
    const tried = (await authentications('4')).find((e) => requestor(e)?.who?.display === 'nobody-here');
    expect(tried?.outcomeDesc).toBe('invalid');
    expect(requestor(tried!)?.who?.reference).toBeUndefined();
  });

  it('a backend service (client_credentials, private_key_jwt) is audited as the client', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS384');
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    // Registered as the server's CLI does: the admin API does not register backend clients (issue 15).
    const backend = createClientStore(path.join(server.dataDir, 'auth')).register({ name: 'Feed', kind: 'backend', scope: 'system/Patient.rs', jwks: { keys: [{ ...jwk, kid, alg: 'RS384', use: 'sig' }] } as never }).clientId;
    const config = await oauth.discovery(new URL(`${server.origin}/auth`), backend, undefined, oauth.PrivateKeyJwt({ key: privateKey, kid }), { execute: [oauth.allowInsecureRequests] });
    await oauth.clientCredentialsGrant(config, { scope: 'system/Patient.rs' });
    const grants = (await authentications('0')).filter((e) => method(e) === 'client_credentials');
    expect(grants.map((e) => requestor(e)?.who?.display)).toEqual([backend]);
  });
});
