import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientStore, type ClientRegistration } from '../../src/auth/server/clients.js';
import * as oauth from 'openid-client';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient } from '../support/fhir-client.js';
import { fixtures, seed } from './fixtures.js';

// SMART Backend Services (client credentials + private_key_jwt) against the embedded server,
// performed by openid-client, a maintained, certified OAuth 2 / OpenID client.
let server: TestServer;
let clientId: string;
let key: { privateKey: CryptoKey; kid: string };

async function register(body: Record<string, unknown>): Promise<Response> {
  const admin = await server.token({ role: 'admin', scope: 'openid', fhirUser: 'Practitioner/admin' });
  return fetch(`${server.origin}/auth/admin/clients`, { method: 'POST', headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/** Registers a backend client the way the server's CLI does (`npm run auth -- clients add`): in the auth folder. */
function registerOnServer(registration: ClientRegistration): string {
  return createClientStore(path.join(server.dataDir, 'auth')).register(registration).clientId;
}

beforeAll(async () => {
  server = await startServer();
  await seed(fhirClient(server.fhirUrl), [fixtures.patient('p1'), fixtures.medicationRequest('mr1', 'p1')]);
  const { privateKey, publicKey } = await generateKeyPair('RS384');
  const jwk = await exportJWK(publicKey);
  key = { privateKey, kid: await calculateJwkThumbprint(jwk) };
  const registration = { name: 'Nightly export', kind: 'backend' as const, scope: 'system/Patient.rs system/MedicationRequest.rs', jwks: { keys: [{ ...jwk, kid: key.kid, alg: 'RS384', use: 'sig' }] } };
  // An admin token cannot register a backend client (issue 15): that would grant itself clinical access.
  const refused = await register(registration);
  expect(refused.status).toBe(403);
  clientId = registerOnServer(registration as ClientRegistration);
});
afterAll(() => server.destroy());

async function configuration(): Promise<oauth.Configuration> {
  return oauth.discovery(new URL(`${server.origin}/auth`), clientId, undefined, oauth.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }), { execute: [oauth.allowInsecureRequests] });
}

describe('SMART Backend Services', () => {
  it('advertises the token endpoint and private_key_jwt in the SMART configuration', async () => {
    const res = await fetch(`${server.fhirUrl}/.well-known/smart-configuration`);
    expect(res.status).toBe(200);
    const smart = (await res.json()) as Record<string, any>;
    expect(smart.token_endpoint).toBe(`${server.origin}/auth/token`);
    expect(smart.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(smart.token_endpoint_auth_signing_alg_values_supported).toEqual(expect.arrayContaining(['RS384', 'ES384']));
    expect(smart.capabilities).toEqual(expect.arrayContaining(['launch-standalone', 'launch-ehr', 'client-confidential-asymmetric', 'permission-v2']));
    const metadata = (await (await fetch(`${server.fhirUrl}/metadata`)).json()) as Record<string, any>;
    expect(metadata.rest[0].security.service[0].coding[0].code).toBe('SMART-on-FHIR');
    expect(metadata.rest[0].security.extension[0].extension).toEqual(expect.arrayContaining([{ url: 'token', valueUri: smart.token_endpoint }]));
  });

  it('exchanges a signed client assertion for a system token that reads only what the client is registered for', async () => {
    const tokens = await oauth.clientCredentialsGrant(await configuration(), { scope: 'system/Patient.rs system/MedicationRequest.rs system/Consent.cruds' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.scope?.split(' ').sort()).toEqual(['system/MedicationRequest.rs', 'system/Patient.rs']);
    expect(tokens.expires_in).toBeLessThanOrEqual(300);
    const fhir = fhirClient(server.fhirUrl, { token: tokens.access_token });
    expect((await fhir.get('Patient/p1')).status).toBe(200);
    expect((await fhir.get('MedicationRequest?subject=Patient/p1')).status).toBe(200);
    expect((await fhir.post('Patient', fixtures.patient('x'))).status).toBe(403);
    expect((await fhir.get('Consent')).status).toBe(403);
  });

  it('refuses an assertion signed by another key, and a client that does not exist', async () => {
    const { privateKey } = await generateKeyPair('RS384');
    const wrong = await oauth.discovery(new URL(`${server.origin}/auth`), clientId, undefined, oauth.PrivateKeyJwt({ key: privateKey, kid: key.kid }), { execute: [oauth.allowInsecureRequests] });
    await expect(oauth.clientCredentialsGrant(wrong, { scope: 'system/Patient.rs' })).rejects.toMatchObject({ error: 'invalid_client' });
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'RS384', kid: key.kid }).setIssuer('nobody').setSubject('nobody').setAudience(`${server.origin}/auth/token`).setJti(crypto.randomUUID()).setIssuedAt().setExpirationTime('2m').sign(key.privateKey);
    const res = await fetch(`${server.origin}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }),
    });
    expect(res.status).toBe(401);
  });

  it('refuses client registration without an admin token', async () => {
    const practitioner = await server.token({ role: 'practitioner', scope: 'user/*.rs', fhirUser: 'Practitioner/d1' });
    const res = await fetch(`${server.origin}/auth/admin/clients`, { method: 'POST', headers: { Authorization: `Bearer ${practitioner}`, 'Content-Type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(403);
    expect((await fetch(`${server.origin}/auth/admin/clients`)).status).toBe(401);
    expect((await register({ name: 'x', kind: 'backend', scope: 'system/*.cruds', jwks: { keys: [] } })).status).toBe(403);
    // The server's CLI validates a backend registration: only system/ scopes.
    expect(() => registerOnServer({ name: 'x', kind: 'backend', scope: 'user/*.rs', jwks: { keys: [] } })).toThrow(/system/);
  });
});
