import { createHmac, randomBytes } from 'node:crypto';
import { boundedMemo } from '../bounded-memo.js';
import type { KeyRingRef } from './jwe-codec.js';

/**
 * Seals small JSON values other than resources (the HL7 v2 message archive) as one compact JWE
 * each, with the at-rest keys of the ring: A256GCM under the current key (A256KW or dir), the kid
 * in the header; opened with the decrypter of whichever ring key the kid names. Uses the key
 * objects and decrypters the ring built once (key-ring.ts), never per value.
 */
export interface Sealer {
  /** One JWE holding `value` bound to `binding` (a JWE copied onto another record does not open as that one). */
  seal(value: unknown, binding: string): Promise<string>;
  /** The value a JWE of `seal` holds; throws when the kid is unknown, the key wrong, the data altered or the binding another. */
  open(jwe: string, binding: string): Promise<unknown>;
  /** The kid in a JWE's header (undefined when it has none). */
  kidOf(jwe: string): string | undefined;
  /** The kid new seals are made under. */
  currentKid(): string;
  /**
   * Keyed digests of `value` for `purpose` (HMAC-SHA256 under each index key of the ring, 128 bits,
   * `<kid>~<base64url>`), the current key's first: equal values give equal digests under one key,
   * and nothing about the value can be read or guessed from them without the key (a digest of the
   * HL7 v2 archive's message content is kept in clear, in its index, to find resends).
   */
  digests(value: string, purpose: string): string[];
}

/** IVs drawn from the CSPRNG at once: 256 of them. */
const IV_BYTES = 12;
const IV_POOL_BYTES = IV_BYTES * 256;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

/**
 * A fresh 96-bit A256GCM IV (RFC 7518 §5.3) from Node's CSPRNG, for every JWE the server makes.
 * Without one, node-jose draws it from node-forge's JavaScript PRNG, whose reseeding cost ~3% of
 * an HL7 v2 message's CPU and ~5% of a create's (issue 19 item 8, issue 14).
 * Drawn in batches, as Node draws `randomUUID`s: one `randomBytes(12)` costs ~9 µs on the bench
 * machine (a locked call into OpenSSL's DRBG each time), a slice of a pool ~0.2 µs; ~1% of a
 * create's CPU (issue 14). Each IV is its own 12 bytes of the pool, handed out once and copied
 * out, so no two JWEs share one (GCM's requirement, NIST SP 800-38D §8) and none aliases the pool.
 */
export function gcmIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES);
    ivOffset = 0;
  }
  const iv = Buffer.from(ivPool.subarray(ivOffset, ivOffset + IV_BYTES));
  // The pool's bytes of a handed-out IV are zeroed: nothing later can read or hand them out again.
  ivPool.fill(0, ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

/** The kid of an encoded protected header: a ring's JWEs share a few headers (one per key), read once each, not once per JWE. */
const headerKid = boundedMemo((encoded): string | undefined => {
  try {
    const header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as { kid?: unknown };
    return typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}, 64);

/** The kid in the protected header of a compact JWE. */
export function jweHeaderKid(jwe: string): string | undefined {
  return headerKid(jwe.slice(0, jwe.indexOf('.')));
}

export function createSealer(ring: KeyRingRef): Sealer {
  return {
    async seal(value, binding) {
      const plaintext = JSON.stringify({ b: binding, v: value });
      return ring.current.atRest.encrypt(plaintext);
    },
    async open(jwe, binding) {
      const kid = jweHeaderKid(jwe);
      const decrypter = kid === undefined ? undefined : ring.current.atRestDecrypters.get(kid);
      if (!decrypter) throw new Error(`sealed value: its key '${kid ?? '?'}' is not in the key ring (${ring.current.source})`);
      let sealed: { b?: unknown; v?: unknown };
      try {
        sealed = JSON.parse((await decrypter.decrypt(jwe)).plaintext.toString('utf8')) as { b?: unknown; v?: unknown };
      } catch {
        throw new Error(`sealed value: the JWE does not decrypt with key '${kid}' (wrong key or altered data)`);
      }
      if (sealed.b !== binding) throw new Error(`sealed value: the JWE belongs to ${String(sealed.b)}, not ${binding}`);
      return sealed.v;
    },
    kidOf: jweHeaderKid,
    currentKid: () => ring.current.atRest.kid,
    digests: (value, purpose) =>
      // JSON of the pair: no purpose can shift into the value; purposes never share a digest.
      ring.current.indexKeys.map((key) => `${key.kid}~${createHmac('sha256', key.secret).update(JSON.stringify([purpose, value])).digest().subarray(0, 16).toString('base64url')}`),
  };
}
