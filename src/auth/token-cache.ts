import { hash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';

/**
 * Verified access tokens, kept by the SHA-256 of the token until their `exp` (issue 14): a
 * signature check (RSA/ECDSA) on every request is the largest cost of authentication, and a JWT's
 * verdict cannot change before it expires, except by revocation, which the verifier checks on
 * every request, cached or not. Bounded (LRU): a flood of distinct tokens evicts, never grows.
 * Only tokens that verified are cached; the raw token is never kept, only its hash.
 */
export interface TokenCache {
  /** The verified payload of a token, while it is cached and not past `exp` (plus the clock skew). */
  get(token: string): JWTPayload | undefined;
  /** Caches a verified payload until its `exp` (plus the clock skew). */
  set(token: string, payload: JWTPayload): void;
}

export const DEFAULT_TOKEN_CACHE_SIZE = 10_000;

// One-shot `hash()`: no Hash object per request, as `createHash().update().digest()` builds.
const keyOf = (token: string): string => hash('sha256', token, 'base64url');

export function createTokenCache(options: { max: number; clockSkewSeconds: number; now?: () => number }): TokenCache {
  const now = options.now ?? Date.now;
  const cache = new LRUCache<string, { payload: JWTPayload; until: number }>({ max: options.max });
  return {
    get(token) {
      const key = keyOf(token);
      const hit = cache.get(key);
      if (!hit) return undefined;
      // Checked here rather than with the cache's own TTL timers: expiry is a claim of the token, on the server clock.
      if (now() >= hit.until) {
        cache.delete(key);
        return undefined;
      }
      return hit.payload;
    },
    set(token, payload) {
      if (typeof payload.exp !== 'number') return;
      cache.set(keyOf(token), { payload, until: (payload.exp + options.clockSkewSeconds) * 1000 });
    },
  };
}
