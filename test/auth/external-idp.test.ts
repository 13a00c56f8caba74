import './support/promise-with-resolvers.js';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { startServer, type TestServer } from '../support/server.js';
import { fhirClient } from '../support/fhir-client.js';
import { mintToken, type TestIssuer } from '../support/tokens.js';
import { fixtures, seed } from './fixtures.js';

// An external OpenID provider (Keycloak-like): FhirGate fetches its JWKS, served here by nock.
const IDP = 'https://idp.example.org';
const ISSUER = `${IDP}/realms/hospital`;
const JWKS_PATH = '/realms/hospital/protocol/openid-connect/certs';

let server: TestServer;

async function newKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg: 'RS256', use: 'sig', kid: await calculateJwkThumbprint(jwk) };
}
const publicOf = ({ d, p, q, dp, dq, qi, ...pub }: JWK): JWK => pub;
const idp = (key: JWK): TestIssuer => ({ issuer: ISSUER, audience: server.fhirUrl, keys: { keys: [key] } });
const keycloakToken = (key: JWK, claims: Record<string, unknown>) =>
  mintToken(idp(key), { scope: 'user/*.rs', fhirUser: 'Practitioner/d1', claims: { azp: 'ehr-app', ...claims } });

beforeAll(async () => {
  // nock patches Node's HTTP for the whole process; the worker runs other files after this one (isolate: false).
  if (!nock.isActive()) nock.activate();
  // Both issuers are trusted: the embedded server (seeding below) and the external provider.
  server = await startServer({ AUTH_ISSUER: ISSUER, AUTH_JWKS_URL: `${IDP}${JWKS_PATH}`, AUTH_EMBEDDED: 'true', AUTH_ROLE_CLAIM: 'realm_access.roles', AUTH_JWKS_COOLDOWN_SECONDS: '0' });
  await seed(fhirClient(server.fhirUrl), [fixtures.patient('p1')]);
});
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.restore();
  await server.destroy();
});

describe('an external identity provider (AUTH_ISSUER, AUTH_JWKS_URL)', () => {
  it('verifies its tokens against its JWKS, fetched once and cached, with the role from AUTH_ROLE_CLAIM', async () => {
    const key = await newKey();
    const jwks = nock(IDP).get(JWKS_PATH).once().reply(200, { keys: [publicOf(key)] });
    const token = await keycloakToken(key, { realm_access: { roles: ['practitioner', 'offline_access'] } });
    const fhir = fhirClient(server.fhirUrl, { token });
    expect((await fhir.get('Patient/p1')).status).toBe(200);
    expect((await fhir.get('Patient/p1')).status).toBe(200);
    expect(jwks.isDone()).toBe(true);
  });

  it('fetches the JWKS again when a token names an unknown kid (key rotation)', async () => {
    const [old, rotated] = [await newKey(), await newKey()];
    nock(IDP).get(JWKS_PATH).reply(200, { keys: [publicOf(old)] });
    const first = fhirClient(server.fhirUrl, { token: await keycloakToken(old, { realm_access: { roles: ['practitioner'] } }) });
    expect((await first.get('Patient/p1')).status).toBe(200);
    const refetch = nock(IDP).get(JWKS_PATH).reply(200, { keys: [publicOf(old), publicOf(rotated)] });
    const second = fhirClient(server.fhirUrl, { token: await keycloakToken(rotated, { realm_access: { roles: ['practitioner'] } }) });
    expect((await second.get('Patient/p1')).status).toBe(200);
    expect(refetch.isDone()).toBe(true);
  });

  it('refuses a token signed by a key the provider does not publish, and a role outside the configured claim', async () => {
    const [published, rogue] = [await newKey(), await newKey()];
    nock(IDP).get(JWKS_PATH).times(2).reply(200, { keys: [publicOf(published)] });
    const forged = fhirClient(server.fhirUrl, { token: await keycloakToken(rogue, { realm_access: { roles: ['practitioner'] } }) });
    const res = await forged.get('Patient/p1');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('invalid_token');
    // `role` is not the configured claim for this issuer: no role, so user/ scopes grant nothing.
    const noRole = fhirClient(server.fhirUrl, { token: await keycloakToken(published, { role: 'practitioner' }) });
    expect((await noRole.get('Patient/p1')).status).toBe(403);
  });

  it('refuses the external issuer name on a token signed with the embedded key, and keeps accepting embedded tokens', async () => {
    nock(IDP).get(JWKS_PATH).reply(200, { keys: [publicOf(await newKey())] });
    const spoofed = fhirClient(server.fhirUrl, { token: await server.token({ issuer: ISSUER }) });
    expect((await spoofed.get('Patient/p1')).status).toBe(401);
    expect((await fhirClient(server.fhirUrl).get('Patient/p1')).status).toBe(200);
  });

  it('replaces the embedded server: no /auth, and the SMART configuration lists the provider\'s endpoints', async () => {
    const only = await startServer({ AUTH_ISSUER: ISSUER, AUTH_JWKS_URL: `${IDP}${JWKS_PATH}` });
    try {
      nock(IDP)
        .get('/realms/hospital/.well-known/openid-configuration')
        .reply(200, { issuer: ISSUER, authorization_endpoint: `${ISSUER}/protocol/openid-connect/auth`, token_endpoint: `${ISSUER}/protocol/openid-connect/token`, jwks_uri: `${IDP}${JWKS_PATH}`, code_challenge_methods_supported: ['S256'] });
      const smart = (await (await fetch(`${only.fhirUrl}/.well-known/smart-configuration`)).json()) as Record<string, unknown>;
      expect(smart).toMatchObject({ issuer: ISSUER, token_endpoint: `${ISSUER}/protocol/openid-connect/token`, code_challenge_methods_supported: ['S256'] });
      expect((await fetch(`${only.origin}/auth/.well-known/openid-configuration`)).status).toBe(404);
      const key = await newKey();
      nock(IDP).get(JWKS_PATH).reply(200, { keys: [publicOf(key)] });
      const fhir = fhirClient(only.fhirUrl, { token: await mintToken({ ...idp(key), audience: only.fhirUrl }, { scope: 'system/Patient.rs' }) });
      expect((await fhir.get('Patient')).status).toBe(200);
    } finally {
      await only.destroy();
    }
  });

  it('answers 401 when the provider cannot be reached', async () => {
    nock(IDP).get(JWKS_PATH).replyWithError('connection refused');
    const fhir = fhirClient(server.fhirUrl, { token: await keycloakToken(await newKey(), { realm_access: { roles: ['practitioner'] } }) });
    expect((await fhir.get('Patient/p1')).status).toBe(401);
  });
});
