import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Config } from '../../config.js';
import { createAccountStore } from '../server/accounts.js';
import { createClientStore } from '../server/clients.js';
import { loadOrCreateCookieKeys, loadOrCreateSigningKeys } from '../server/signing-keys.js';

/** What first-run setup prints: the first admin's one-time password and a backend-services client. */
export interface SetupResult {
  fhirBaseUrl: string;
  issuer: string;
  tokenEndpoint: string;
  admin: { username: string; oneTimePassword: string; note: string };
  client: { clientId: string; scope: string; privateJwk: JWK; note: string };
}

export class SetupError extends Error {
  override name = 'SetupError';
}

/** A new private key for a backend client (RS384, as SMART Backend Services asks), with its public half. */
export async function newClientKey(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS384', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS384', use: 'sig' }, publicJwk: { ...publicJwk, kid, alg: 'RS384', use: 'sig' } };
}

/**
 * First run of a fresh install: makes the embedded server's keys, the first admin (a random
 * one-time password, changed at first sign-in, with TOTP enrolment) and a system client for
 * SMART Backend Services (its private key is printed once and never stored). No default password
 * exists anywhere. Refuses to run twice: later users and clients are added with `npm run auth`.
 */
export async function setup(config: Config, options: { username?: string; scope?: string } = {}): Promise<SetupResult> {
  if (!config.auth.embedded) throw new SetupError('setup configures the embedded authorization server; it is off (AUTH_EMBEDDED=false)');
  const accounts = createAccountStore(config.auth.dir);
  if (accounts.list().some((a) => a.roles.includes('admin'))) {
    throw new SetupError(`${config.auth.dir} already has an admin; add users and clients with 'npm run auth -- users add' and 'npm run auth -- clients add'`);
  }
  await loadOrCreateSigningKeys(config.auth.dir);
  await loadOrCreateCookieKeys(config.auth.dir);
  const username = options.username ?? 'admin';
  const { password } = await accounts.create({ username, roles: ['admin'] });
  const scope = options.scope ?? 'system/*.cruds';
  const { privateJwk, publicJwk } = await newClientKey();
  const { clientId } = createClientStore(config.auth.dir).register({ name: 'FhirGate system client', kind: 'backend', scope, jwks: { keys: [publicJwk] } });
  return {
    fhirBaseUrl: config.fhirBaseUrl,
    issuer: config.auth.embeddedIssuer,
    tokenEndpoint: `${config.auth.embeddedIssuer}/token`,
    admin: { username, oneTimePassword: password, note: 'Sign in once to choose a new password and enrol an authenticator app (TOTP).' },
    client: { clientId, scope, privateJwk, note: 'Keep privateJwk secret: it is the only copy. Request tokens with: npm run auth -- token --credentials <this file>' },
  };
}
