import jose from 'node-jose';
import { FhirError } from '../fhir/errors.js';
import type { KeyRingRef } from './jwe-codec.js';
import type { Recipient } from './recipients.js';
import { gcmIv } from './sealed.js';

/** The media type of a JWE compact serialization (RFC 7516 §9). */
export const JOSE_MEDIA_TYPE = 'application/jose';

/**
 * Encrypted exchange between organizations (issue 9), e.g. a referral: FHIR JSON encrypted as a
 * JWE to a registered receiving organization's public key (ECDH-ES+A256KW or RSA-OAEP-256, A256GCM,
 * `cty: application/fhir+json`), and JWEs other organizations send to FhirGate's own published key.
 */
export interface Exchange {
  /** FhirGate's public encryption keys, as a JWKS anyone may fetch. */
  publicJwks(): { keys: jose.JWK.RawKey[] };
  /** The registered recipient, or a 400 naming the problem. */
  recipient(id: string | undefined): Promise<Recipient>;
  /** FHIR JSON as a compact JWE only `recipient` can decrypt. */
  encryptFor(recipient: Recipient, fhirJson: string): Promise<string>;
  /** The plaintext of a JWE sent to FhirGate; a 400 when it is not for this server or was altered. */
  decryptInbound(jwe: string): Promise<string>;
}

function kidOf(jwe: string): string | undefined {
  try {
    const kid = (JSON.parse(Buffer.from(jwe.slice(0, jwe.indexOf('.')), 'base64url').toString('utf8')) as { kid?: unknown }).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function createExchange(options: { ring: KeyRingRef; recipients: { get(id: string): Promise<Recipient | undefined> } }): Exchange {
  const { ring, recipients } = options;
  return {
    publicJwks: () => ({ keys: ring.current.exchangeKeys.map((k) => k.toJSON(false)) }),

    async recipient(id) {
      if (!id) throw new FhirError('bad-request', 'An encrypted (application/jose) response needs a FhirGate-Recipient header naming a registered recipient');
      const found = await recipients.get(id);
      if (!found) throw new FhirError('bad-request', `'${id.slice(0, 64)}' is not a registered recipient of encrypted exchange`);
      return found;
    },

    encryptFor: (recipient, fhirJson) =>
      jose.JWE.createEncrypt({ format: 'compact', contentAlg: 'A256GCM', iv: gcmIv(), fields: { cty: 'application/fhir+json' } }, recipient.key).update(fhirJson, 'utf8').final(),

    async decryptInbound(jwe) {
      const decrypter = ring.current.exchangeDecrypter;
      if (!decrypter) throw new FhirError('not-supported', 'This server has no exchange key, so it does not accept encrypted (application/jose) requests');
      const token = jwe.trim();
      if (!COMPACT_JWE.test(token)) throw new FhirError('bad-request', 'The body is not a JWE in compact serialization');
      const kid = kidOf(token);
      if (kid !== undefined && !ring.current.exchangeKeys.some((k) => k.kid === kid)) {
        throw new FhirError('bad-request', `The JWE is encrypted to key '${kid.slice(0, 100)}', not to a key of this server (see its JWKS at /exchange/jwks.json)`);
      }
      try {
        return (await decrypter.decrypt(token)).plaintext.toString('utf8');
      } catch {
        throw new FhirError(
          'bad-request',
          'The JWE cannot be decrypted: it was altered, is not encrypted to a key of this server, or uses an algorithm other than ECDH-ES+A256KW / RSA-OAEP-256 with A256GCM',
        );
      }
    },
  };
}
