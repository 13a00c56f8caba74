import { readFileSync } from 'node:fs';
import path from 'node:path';
import { importJWK, SignJWT, type JSONWebKeySet, type JWK } from 'jose';

/** What a test token says; every field optional. Defaults: a backend service with `system/*.*`. */
export interface TokenOptions {
  scope?: string;
  role?: string | string[];
  fhirUser?: string;
  patient?: string;
  clientId?: string;
  subject?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  audience?: string;
  issuer?: string;
  /** Extra or overriding claims. */
  claims?: Record<string, unknown>;
  alg?: 'RS256' | 'ES256';
}

/** A token issuer the tests hold the private keys of: the embedded server's own keys, or a test IdP's. */
export interface TestIssuer {
  issuer: string;
  audience: string;
  keys: JSONWebKeySet;
}

/** The full-access token every test client carries unless told otherwise. */
export const DEFAULT_SCOPE = 'system/*.*';

/** Signs a real access token with the issuer's private key (RS256 by default), as the authorization server would. */
export async function mintToken(issuer: TestIssuer, options: TokenOptions = {}): Promise<string> {
  const alg = options.alg ?? 'RS256';
  const jwk = issuer.keys.keys.find((k) => k.alg === alg) as JWK;
  const claims: Record<string, unknown> = {
    scope: options.scope ?? DEFAULT_SCOPE,
    client_id: options.clientId ?? 'test-client',
    ...(options.role !== undefined ? { role: options.role } : {}),
    ...(options.fhirUser ? { fhirUser: options.fhirUser } : {}),
    ...(options.patient ? { patient: options.patient } : {}),
    ...options.claims,
  };
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid: jwk.kid, typ: 'at+jwt' })
    .setIssuer(options.issuer ?? issuer.issuer)
    .setAudience(options.audience ?? issuer.audience)
    .setSubject(options.subject ?? 'test-subject')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 3600))
    .setJti(crypto.randomUUID())
    .sign(await importJWK(jwk, alg));
}

/** The embedded server's signing keys, read from its data folder (`DATA_DIR/auth/signing-keys.json`). */
export function embeddedIssuer(dataDir: string, origin: string): TestIssuer {
  const keys = JSON.parse(readFileSync(path.join(dataDir, 'auth', 'signing-keys.json'), 'utf8')) as JSONWebKeySet;
  return { issuer: `${origin}/auth`, audience: `${origin}/fhir`, keys };
}

const defaults = new Map<string, string>();

/** Makes `fhirClient(fhirUrl)` carry a full-access token of `issuer` by default. */
export async function registerDefaultToken(fhirUrl: string, issuer: TestIssuer): Promise<void> {
  defaults.set(fhirUrl.replace(/\/+$/, ''), await mintToken(issuer));
}

/** The default token of a server started by the test support, if any. */
export function defaultToken(fhirUrl: string): string | undefined {
  const base = [...defaults.keys()].find((url) => fhirUrl === url || fhirUrl.startsWith(`${url}/`));
  return base ? defaults.get(base) : undefined;
}

/** `Authorization` header with the server's default token, for raw `fetch` calls (e.g. paging links). */
export function authHeaders(url: string): Record<string, string> {
  const token = defaultToken(url);
  return token ? { Authorization: `Bearer ${token}` } : {};
}
