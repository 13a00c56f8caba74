import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64url, SignJWT, type JWK } from 'jose';
import { startServer, type TestServer } from '../support/server.js';
import { errorCode } from '../support/fhir-client.js';
import { mintToken } from '../support/tokens.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.destroy());

const claims = (extra: Record<string, unknown> = {}) => {
  const now = Math.floor(Date.now() / 1000);
  return { iss: server.issuer!.issuer, aud: server.fhirUrl, sub: 'x', scope: 'system/*.*', iat: now, exp: now + 300, ...extra };
};
const encode = (value: unknown): string => base64url.encode(JSON.stringify(value));
const rsaKey = (): JWK => server.issuer!.keys.keys.find((k) => k.alg === 'RS256')!;

async function call(authorization: string | undefined, path = 'Patient/x') {
  const res = await fetch(`${server.fhirUrl}/${path}`, { headers: authorization ? { Authorization: authorization } : {} });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.json().catch(() => undefined) };
}

// Every attack must end the same way: 401, a Bearer challenge, an OperationOutcome with code `unauthorized`.
const ATTACKS: Array<[string, () => Promise<string | undefined>]> = [
  ['no Authorization header', async () => undefined],
  ['Basic credentials instead of a Bearer token', async () => 'Basic dXNlcjpwYXNz'],
  ['a Bearer value that is not a JWT', async () => 'Bearer not-a-jwt'],
  ['alg: none (unsigned)', async () => `Bearer ${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims())}.`],
  [
    'HS256 signed with the public key as the HMAC secret',
    async () => {
      const { d, p, q, dp, dq, qi, ...pub } = rsaKey();
      const pem = createPublicKey({ key: pub as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      return `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: rsaKey().kid }).sign(new TextEncoder().encode(String(pem)))}`;
    },
  ],
  ['wrong audience', async () => `Bearer ${await mintToken(server.issuer!, { audience: 'https://other.example/fhir' })}`],
  ['wrong issuer (same key)', async () => `Bearer ${await mintToken(server.issuer!, { issuer: 'https://evil.example' })}`],
  ['expired beyond the clock skew', async () => `Bearer ${await mintToken(server.issuer!, { expiresIn: -120 })}`],
  ['not valid before a future nbf', async () => `Bearer ${await mintToken(server.issuer!, { claims: { nbf: Math.floor(Date.now() / 1000) + 600 } })}`],
  ['no exp claim', async () => {
    const { exp, ...rest } = claims();
    const token = await mintToken(server.issuer!);
    const [h, , s] = token.split('.');
    return `Bearer ${h}.${encode(rest)}.${s}`;
  }],
  [
    'tampered payload (scope widened after signing)',
    async () => {
      const [h, p, s] = (await mintToken(server.issuer!, { scope: 'system/Patient.r' })).split('.');
      const payload = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
      return `Bearer ${h}.${encode({ ...payload, scope: 'system/*.*' })}.${s}`;
    },
  ],
  ['tampered signature', async () => `Bearer ${(await mintToken(server.issuer!)).slice(0, -6)}AAAAAA`],
  [
    'signed by a key the issuer never published',
    async () => {
      const { generateKeyPair } = await import('jose');
      const { privateKey } = await generateKeyPair('RS256');
      return `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: rsaKey().kid }).sign(privateKey)}`;
    },
  ],
];

describe('token attacks on the resource server', () => {
  it.each(ATTACKS)('%s: 401 with WWW-Authenticate and an OperationOutcome', async (_name, make) => {
    const res = await call(await make());
    expect(res.status).toBe(401);
    expect(res.challenge).toMatch(/^Bearer realm="[^"]+"/);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(errorCode(res.body)).toBe('unauthorized');
  });

  it('names the failure in the challenge (RFC 6750 invalid_token) when a token was sent', async () => {
    const res = await call(`Bearer ${await mintToken(server.issuer!, { expiresIn: -120 })}`);
    expect(res.challenge).toContain('error="invalid_token"');
    expect(res.challenge).toMatch(/expired/);
  });

  it('accepts a valid RS256 and a valid ES256 token, and one expired within the clock skew', async () => {
    for (const token of [await mintToken(server.issuer!), await mintToken(server.issuer!, { alg: 'ES256' }), await mintToken(server.issuer!, { expiresIn: -5 })]) {
      expect((await call(`Bearer ${token}`)).status).toBe(404);
    }
  });

  it('leaves capabilities and health open, and protects every other /fhir path, including unknown ones', async () => {
    expect((await fetch(`${server.fhirUrl}/metadata`)).status).toBe(200);
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.origin}/readyz`)).status).toBe(200);
    for (const path of ['Patient', 'Patient/_history', 'Nothing/here', 'Patient/x/_history/1']) {
      expect((await call(undefined, path)).status, path).toBe(401);
    }
    expect((await fetch(`${server.origin}/hl7/anything`)).status).toBe(401);
    const upper = await fetch(`${server.origin}/FHIR/Patient/x`);
    expect(upper.status).toBe(401);
    expect(upper.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const post = await fetch(`${server.fhirUrl}/Patient`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/fhir+json' } });
    expect(post.status).toBe(401);
  });
});
