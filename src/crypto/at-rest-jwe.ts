import { createCipheriv, createDecipheriv } from 'node:crypto';
import jose from 'node-jose';
import { gcmIv } from './sealed.js';

/** Opens the compact JWEs of one at-rest key (the plaintext, as node-jose's decrypters answer it). */
export interface AtRestDecrypter {
  decrypt(jwe: string): Promise<{ plaintext: Buffer }>;
}

/** Makes the compact JWEs of one at-rest key: A256GCM, the kid in the protected header. */
export type AtRestEncrypter = (plaintext: string) => Promise<string>;

/** A256GCM's IV and authentication tag (RFC 7518 §5.3: 96 and 128 bits). */
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The compact JWE (RFC 7516 §7.1) of a `dir` + A256GCM key, made and opened with Node's AES-256-GCM
 * (RFC 7518 §5.3) on the ring key's bytes (issue 14). node-jose's JWE processor costs ~120 µs a
 * decryption on top of ~20 µs of AES-GCM: per call it deep-merges its options (lodash), builds an
 * algorithm matcher and a new JWK key object for the content key, which with `dir` is the ring's
 * key itself; its content-encryption primitive (`JWK.Key#decrypt`) still re-read the key's
 * algorithms and copied its options per call, half of a search page's decoding (issue 13). The JWE
 * is the same standard one (`jose` decrypts it, test/crypto/at-rest-format.test.ts); the protected
 * header, which GCM authenticates as the additional data (§5.1 step 14), is fixed per key, so it
 * is built once. The tag is 128 bits (§5.3), and a shorter one is refused, not checked on fewer bits.
 * A JWE with any other header (another order, `zip`, `crit`, A256KW) goes through node-jose's
 * full processor, as do all JWEs of A256KW keys.
 */
export function atRestCiphers(kid: string, alg: 'A256KW' | 'dir', key: jose.JWK.Key): { encrypt: AtRestEncrypter; decrypter: AtRestDecrypter } {
  const full = jose.JWE.createDecrypt(key, { algorithms: [alg, 'A256GCM'] });
  const fullEncrypt: AtRestEncrypter = (plaintext) => jose.JWE.createEncrypt({ format: 'compact', contentAlg: 'A256GCM', iv: gcmIv() }, key).update(plaintext, 'utf8').final();
  if (alg !== 'dir') return { encrypt: fullEncrypt, decrypter: full };
  // The member order node-jose writes, so JWEs made before this fast path take it too.
  const header = Buffer.from(JSON.stringify({ enc: 'A256GCM', alg: 'dir', kid })).toString('base64url');
  const aad = Buffer.from(header, 'ascii');
  const secret = Buffer.from(String(key.toJSON(true).k), 'base64url');
  if (secret.length !== 32) throw new Error(`at-rest key ${kid}: A256GCM needs a 256-bit key, not ${secret.length * 8} bits`);
  return {
    async encrypt(plaintext) {
      const iv = gcmIv();
      const cipher = createCipheriv('aes-256-gcm', secret, iv, { authTagLength: TAG_BYTES }).setAAD(aad);
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${header}..${iv.toString('base64url')}.${data.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
    },
    decrypter: {
      async decrypt(jwe) {
        const parts = jwe.split('.');
        // `dir`: no encrypted key (RFC 7518 §4.5); anything else is for the full processor to judge.
        if (parts.length !== 5 || parts[0] !== header || parts[1] !== '') return full.decrypt(jwe);
        const [, , iv, ciphertext, tag] = parts;
        const tagBytes = Buffer.from(tag, 'base64url');
        const ivBytes = Buffer.from(iv, 'base64url');
        if (tagBytes.length !== TAG_BYTES || ivBytes.length !== IV_BYTES) throw new Error('A256GCM: the JWE has no 96-bit IV and 128-bit tag');
        const decipher = createDecipheriv('aes-256-gcm', secret, ivBytes, { authTagLength: TAG_BYTES }).setAAD(aad).setAuthTag(tagBytes);
        const plaintext = decipher.update(Buffer.from(ciphertext, 'base64url'));
        // `final` throws when the tag does not authenticate the header, IV and ciphertext. GCM is a
        // stream mode: `update` gave every byte and `final` gives none, so nothing is copied again.
        const rest = decipher.final();
        return { plaintext: rest.length === 0 ? plaintext : Buffer.concat([plaintext, rest]) };
      },
    },
  };
}
