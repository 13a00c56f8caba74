import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createTokenVerifier } from '../../src/auth/bearer.js';
import { createTokenCache } from '../../src/auth/token-cache.js';
import { startServer, type TestServer } from '../support/server.js';
import { adminApi } from './support/oauth.js';

/** Verified tokens are cached by their hash until `exp`; revocation and expiry still hold on the next request (issue 14). */
let server: TestServer;

beforeAll(async () => {
  // No clock skew: a token is refused the second its `exp` passes, cached or not.
  server = await startServer({ AUTH_CLOCK_SKEW_SECONDS: '0' });
});
afterAll(() => server.destroy());

async function read(token: string): Promise<{ status: number; challenge: string | null }> {
  const res = await fetch(`${server.fhirUrl}/Patient/none`, { headers: { Authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return { status: res.status, challenge: res.headers.get('www-authenticate') };
}

describe('the verified-token cache, through HTTP with real tokens', () => {
  it('a cached token is refused once its exp has passed', async () => {
    const token = await server.token({ expiresIn: 2 });
    expect((await read(token)).status).toBe(404);
    expect((await read(token)).status).toBe(404);
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).exp as number;
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 50));
    const after = await read(token);
    expect(after.status).toBe(401);
    expect(after.challenge).toContain('expired');
  });

  it('a cached token whose grant is revoked is refused on the next request', async () => {
    const clientId = (await adminApi(server, 'POST', '/admin/clients', { name: 'Cached', kind: 'public', redirectUris: ['https://cached.example/cb'], scope: 'system/*.rs' })).json.client_id as string;
    const token = await server.token({ clientId, scope: 'system/*.rs', claims: { grant_id: 'grant-cached-1' } });
    expect((await read(token)).status).toBe(404);
    expect((await read(token)).status).toBe(404); // now served from the cache
    const revoked = await fetch(`${server.origin}/auth/token/revocation`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: clientId }),
    });
    expect(revoked.status).toBe(200);
    const after = await read(token);
    expect(after.status).toBe(401);
    expect(after.challenge).toContain('revoked');
  });

  it('a token differing from a cached one in its signature alone is verified, and refused', async () => {
    const token = await server.token();
    expect((await read(token)).status).toBe(404);
    const [header, payload, signature] = token.split('.');
    const altered = Buffer.from(signature, 'base64url');
    altered[0] ^= 1;
    const forged = await read(`${header}.${payload}.${altered.toString('base64url')}`);
    expect(forged.status).toBe(401);
    expect(forged.challenge).toContain('signature');
  });
});

describe('createTokenCache', () => {
  const payload = (exp: number) => ({ iss: 'i', exp, iat: exp - 60 });
  const cases: Array<{ name: string; skew: number; exp: number; at: number; hit: boolean }> = [
    { name: 'before exp', skew: 0, exp: 100, at: 99_999, hit: true },
    { name: 'at exp', skew: 0, exp: 100, at: 100_000, hit: false },
    { name: 'after exp within the skew', skew: 30, exp: 100, at: 120_000, hit: true },
    { name: 'after exp beyond the skew', skew: 30, exp: 100, at: 130_000, hit: false },
  ];
  it.each(cases)('$name', ({ skew, exp, at, hit }) => {
    let now = 0;
    const cache = createTokenCache({ max: 10, clockSkewSeconds: skew, now: () => now });
    cache.set('t', payload(exp));
    now = at;
    expect(cache.get('t') !== undefined).toBe(hit);
  });

  it('is bounded: the least recently used token is evicted first', () => {
    const cache = createTokenCache({ max: 2, clockSkewSeconds: 0, now: () => 0 });
    cache.set('a', payload(100));
    cache.set('b', payload(100));
    cache.get('a');
    cache.set('c', payload(100));
    expect([cache.get('a') !== undefined, cache.get('b') !== undefined, cache.get('c') !== undefined]).toEqual([true, false, true]);
  });
});

describe('createTokenVerifier: what a cached token says is read once', () => {
  it('answers the same frozen Principal for every request of a token, and checks revocation each time', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] });
    let revoked = false;
    const verify = createTokenVerifier({ issuers: [{ issuer: 'https://issuer.test', keys, roleClaim: 'role' }], audience: 'https://fhir.test', clockSkewSeconds: 0, isRevoked: () => revoked });
    const sign = (scope: string) =>
      new SignJWT({ scope, role: 'practitioner' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('https://issuer.test').setAudience('https://fhir.test').setIssuedAt().setExpirationTime('5m').sign(privateKey);
    const token = await sign('user/Patient.rs');
    const first = await verify(token);
    expect(first.scopes).toEqual(['user/Patient.rs']);
    expect(first.roles).toEqual(['practitioner']);
    expect(await verify(token)).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.scopes) && Object.isFrozen(first.roles)).toBe(true);
    // Another token has its own Principal.
    expect((await verify(await sign('user/Observation.rs'))).scopes).toEqual(['user/Observation.rs']);
    revoked = true;
    await expect(verify(token)).rejects.toThrow('revoked');
  });
});
