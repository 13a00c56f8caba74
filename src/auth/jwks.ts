import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';

/** The signing algorithms FhirGate accepts (SMART App Launch: RS256 and ES256); never `none` or HMAC. */
export const ACCEPTED_ALGORITHMS = ['RS256', 'ES256'] as const;

/**
 * An issuer's keys fetched from its JWKS URL: cached (`cacheMaxAge`), and fetched again when a token
 * names an unknown `kid` (key rotation), at most once per `cooldown` so unknown kids cannot flood the issuer.
 */
export function remoteKeys(url: string, options: { cacheMaxAgeMs?: number; cooldownMs?: number; timeoutMs?: number } = {}): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url), {
    cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
    cooldownDuration: options.cooldownMs ?? 30_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
  });
}

/** Keys held in-process (the embedded authorization server's own): no network, no cache. */
export function localKeys(jwks: JSONWebKeySet): JWTVerifyGetKey {
  return createLocalJWKSet(publicJwks(jwks));
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** A key set without any private member, fit to publish. */
export function publicJwks(jwks: JSONWebKeySet): JSONWebKeySet {
  return {
    keys: jwks.keys.map((key) => {
      const copy: JWK = { ...key };
      for (const member of PRIVATE_MEMBERS) delete (copy as Record<string, unknown>)[member];
      return copy;
    }),
  };
}
