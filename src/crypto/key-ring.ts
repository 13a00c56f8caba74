import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import jose from 'node-jose';
import { atRestCiphers, type AtRestDecrypter, type AtRestEncrypter } from './at-rest-jwe.js';

/**
 * The key ring: one JWK set holding every key FhirGate's encryption uses (issue 9).
 *
 * | kind      | JWK                                                        | used for                                        |
 * |-----------|------------------------------------------------------------|-------------------------------------------------|
 * | at rest   | `kty: oct`, 256-bit `k`, `alg: A256KW` or `dir`             | the JWE of each resource version (A256GCM)      |
 * | index     | `kty: oct`, ≥ 256-bit `k`, `alg: HS256`                     | the keyed HMAC blind index of encrypted elements |
 * | exchange  | `kty: EC` (P-256/384/521) or `RSA`, private, `alg: ECDH-ES+A256KW` or `RSA-OAEP-256` | JWEs partners send to FhirGate; the public part is published |
 *
 * Of each kind the **first** key in the set is current: new data is encrypted, hashed or
 * published with it; the others only decrypt (or, for the index, still match). Rotation puts a
 * new key first and re-encrypts everything (`npm run rotate-keys`).
 */

/** The JWK members FhirGate reads; any others are ignored. */
export interface Jwk {
  kty?: unknown;
  kid?: unknown;
  alg?: unknown;
  use?: unknown;
  k?: unknown;
  d?: unknown;
  crv?: unknown;
  n?: unknown;
  [member: string]: unknown;
}

export interface JwkSet {
  keys: Jwk[];
}

export interface AtRestKey {
  kid: string;
  alg: 'A256KW' | 'dir';
  key: jose.JWK.Key;
  /** Makes a compact JWE (A256GCM) of a plaintext under this key (at-rest-jwe.ts). */
  encrypt: AtRestEncrypter;
}

export interface IndexKey {
  kid: string;
  secret: KeyObject;
}

/** A key ring ready to use: node-jose keys and decrypters are built once, here, never per request. */
export interface KeyRing {
  /** Where the ring came from (a file path or an environment variable), for messages. */
  source: string;
  /** New JWEs at rest are made with this key. */
  atRest: AtRestKey;
  /** Kids of every at-rest key, current first. */
  atRestKids: readonly string[];
  /**
   * One decrypter per at-rest kid (A256KW or dir, A256GCM only). Per key rather than one over a
   * key store: node-jose then skips its key search, which halves the cost of a decryption; for
   * `dir` keys, Node's AES-256-GCM on the key's bytes, without node-jose's JWE processor (at-rest-jwe.ts).
   */
  atRestDecrypters: ReadonlyMap<string, AtRestDecrypter>;
  /** Index keys, current first: queries match the hashes of every one, so a rotation never hides a record. */
  indexKeys: readonly IndexKey[];
  /** The server's exchange key pairs, current first (may be empty: encrypted exchange is then off). */
  exchangeKeys: readonly jose.JWK.Key[];
  /** Decrypts a JWE sent to any exchange key (ECDH-ES+A256KW or RSA-OAEP-256, A256GCM only). */
  exchangeDecrypter?: jose.JWE.Decrypter;
}

/** A key ring that is invalid: the message names the source and the key, never key material. */
export class KeyRingError extends Error {
  override name = 'KeyRingError';
}

const KID = /^[A-Za-z0-9._:-]{1,100}$/;
const AT_REST_ALGS = new Set(['A256KW', 'dir']);
const EXCHANGE_ALGS: Readonly<Record<string, string>> = { EC: 'ECDH-ES+A256KW', RSA: 'RSA-OAEP-256' };
const EC_CURVES = new Set(['P-256', 'P-384', 'P-521']);

function octBytes(jwk: Jwk, where: string): Buffer {
  if (typeof jwk.k !== 'string' || !/^[A-Za-z0-9_-]+$/.test(jwk.k)) throw new KeyRingError(`${where}: 'k' must be base64url`);
  return Buffer.from(jwk.k, 'base64url');
}

type Kind = 'at-rest' | 'index' | 'exchange';

function classify(jwk: Jwk, where: string): Kind {
  if (jwk.kty === 'oct' && typeof jwk.alg === 'string' && AT_REST_ALGS.has(jwk.alg)) {
    if (octBytes(jwk, where).length !== 32) throw new KeyRingError(`${where}: an at-rest key must be 256 bits (32 bytes of 'k')`);
    return 'at-rest';
  }
  if (jwk.kty === 'oct' && jwk.alg === 'HS256') {
    if (octBytes(jwk, where).length < 32) throw new KeyRingError(`${where}: an index key must be at least 256 bits`);
    return 'index';
  }
  if ((jwk.kty === 'EC' || jwk.kty === 'RSA') && jwk.alg === EXCHANGE_ALGS[jwk.kty]) {
    if (typeof jwk.d !== 'string') throw new KeyRingError(`${where}: an exchange key must include its private part`);
    if (jwk.kty === 'EC' && !EC_CURVES.has(String(jwk.crv))) throw new KeyRingError(`${where}: curve must be P-256, P-384 or P-521`);
    if (jwk.kty === 'RSA' && Buffer.from(String(jwk.n ?? ''), 'base64url').length < 256) throw new KeyRingError(`${where}: an RSA key must have at least 2048 bits`);
    return 'exchange';
  }
  throw new KeyRingError(
    `${where}: unsupported key (kty ${String(jwk.kty)}, alg ${String(jwk.alg)}); expected oct with A256KW, dir or HS256, EC with ECDH-ES+A256KW, or RSA with RSA-OAEP-256`,
  );
}

/** The keys of a parsed JWK set, checked: each with a unique kid and a kind. */
export function checkJwkSet(value: unknown, source: string): Array<{ jwk: Jwk; kid: string; kind: Kind }> {
  const keys = (value as JwkSet | null)?.keys;
  if (typeof value !== 'object' || value === null || !Array.isArray(keys) || keys.length === 0) {
    throw new KeyRingError(`Key ring ${source} must be a JWK set: {"keys": [...]} with at least one key`);
  }
  const seen = new Set<string>();
  return keys.map((jwk, i) => {
    if (typeof jwk !== 'object' || jwk === null) throw new KeyRingError(`Key ring ${source}: key #${i + 1} is not a JWK object`);
    const kid = jwk.kid;
    if (typeof kid !== 'string' || !KID.test(kid)) throw new KeyRingError(`Key ring ${source}: key #${i + 1} needs a 'kid' of letters, digits and . _ : - (at most 100)`);
    if (seen.has(kid)) throw new KeyRingError(`Key ring ${source}: kid '${kid}' appears twice`);
    seen.add(kid);
    return { jwk, kid, kind: classify(jwk, `Key ring ${source}, key '${kid}'`) };
  });
}

/** Builds a ready key ring from a parsed JWK set. Throws KeyRingError naming the problem. */
export async function buildKeyRing(value: unknown, source: string): Promise<KeyRing> {
  const checked = checkJwkSet(value, source);
  const exchangeStore = jose.JWK.createKeyStore();
  const atRest: AtRestKey[] = [];
  const atRestDecrypters = new Map<string, AtRestDecrypter>();
  const indexKeys: IndexKey[] = [];
  const exchangeKeys: jose.JWK.Key[] = [];
  for (const { jwk, kid, kind } of checked) {
    if (kind === 'at-rest') {
      const alg = jwk.alg as 'A256KW' | 'dir';
      // node-jose takes a `dir` key as one whose algorithm is the content encryption itself.
      const key = await jose.JWK.asKey({ kty: 'oct', kid, use: 'enc', alg: alg === 'dir' ? 'A256GCM' : 'A256KW', k: jwk.k as string });
      const { encrypt, decrypter } = atRestCiphers(kid, alg, key);
      atRest.push({ kid, alg, key, encrypt });
      atRestDecrypters.set(kid, decrypter);
    } else if (kind === 'index') {
      indexKeys.push({ kid, secret: createSecretKey(octBytes(jwk, kid)) });
    } else {
      exchangeKeys.push(await exchangeStore.add({ ...(jwk as jose.JWK.RawKey), use: 'enc' }));
    }
  }
  if (atRest.length === 0) throw new KeyRingError(`Key ring ${source} has no at-rest key (kty oct, 256 bits, alg A256KW or dir)`);
  if (indexKeys.length === 0) throw new KeyRingError(`Key ring ${source} has no index key (kty oct, alg HS256)`);
  return {
    source,
    atRest: atRest[0],
    atRestKids: atRest.map((k) => k.kid),
    atRestDecrypters,
    indexKeys,
    exchangeKeys,
    ...(exchangeKeys.length > 0 ? { exchangeDecrypter: jose.JWE.createDecrypt(exchangeStore, { algorithms: ['ECDH-ES+A256KW', 'RSA-OAEP-256', 'A256GCM'] }) } : {}),
  };
}

/** Every kid of a ring (at rest, index, exchange). */
export function kidsOf(ring: KeyRing): string[] {
  return [...ring.atRestKids, ...ring.indexKeys.map((k) => k.kid), ...ring.exchangeKeys.map((k) => k.kid)];
}

function newKid(kind: string, now: Date): string {
  return `${kind}-${now.toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`;
}

function octKey(kind: string, alg: string, now: Date): Jwk {
  return { kty: 'oct', kid: newKid(kind, now), use: kind === 'index' ? 'sig' : 'enc', alg, k: randomBytes(32).toString('base64url') };
}

/**
 * The algorithm of at-rest keys FhirGate makes (issue 14): `dir`, the ring key being the A256GCM
 * content key itself, so a read costs one AES-GCM decryption and no key unwrap (A256KW unwraps a
 * fresh content key per version: about 3× the cost of a decode in node-jose). Sound as long as one
 * key encrypts fewer than 2^32 versions (random 96-bit IVs, NIST SP 800-38D §8.3); every rotation
 * starts a new key. Rings with A256KW keys keep working, and move to `dir` at their next rotation.
 */
export const AT_REST_ALG = 'dir';

/** A fresh key ring: a `dir` at-rest key, an HS256 index key and a P-256 exchange key pair. */
export async function generateJwkSet(now = new Date()): Promise<JwkSet> {
  const exchange = await jose.JWK.createKey('EC', 'P-256', { kid: newKid('exchange', now), use: 'enc', alg: 'ECDH-ES+A256KW' });
  return { keys: [octKey('rest', AT_REST_ALG, now), octKey('index', 'HS256', now), exchange.toJSON(true) as Jwk] };
}

/**
 * The set with a new current at-rest key (`dir`, whatever the current one is) and a new index
 * key put first; every older key stays, decrypt-only, until a rotation has moved the data off it.
 */
export function withNewCurrentKeys(set: JwkSet, now = new Date()): JwkSet {
  checkJwkSet(set, 'being rotated');
  return { keys: [octKey('rest', AT_REST_ALG, now), octKey('index', 'HS256', now), ...set.keys] };
}
