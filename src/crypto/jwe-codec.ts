import type { Extension, Resource } from '@medplum/fhirtypes';
import type { StorageCodec } from '../fhir/codec.js';
import { FhirError } from '../fhir/errors.js';
import type { Logger } from '../logger.js';
import type { SensitiveElements } from './elements.js';
import type { KeyRing } from './key-ring.js';
import { redact } from './redact.js';
import { jweHeaderKid } from './sealed.js';

/**
 * Where a stored resource keeps its encrypted elements: one extension at the resource root whose
 * `valueString` is a JWE compact serialization, so the stored resource stays valid FHIR.
 */
export const ENCRYPTED_ELEMENTS_URL = 'https://fhirgate.dev/StructureDefinition/encrypted-elements';

/** The key ring in use; replaced (not mutated) when a rotation reloads it. */
export interface KeyRingRef {
  current: KeyRing;
}

/**
 * What the JWE holds: the original value of every top-level element that had sensitive values
 * (`o`, with `_x` twins), the list of those keys (`k`), and the version it belongs to (`r`),
 * so a JWE copied onto another resource or version does not decrypt as that one.
 */
interface Payload {
  r: string;
  k: string[];
  o: Record<string, unknown>;
}

export interface JweCodec extends StorageCodec {
  /** The at-rest kid a stored resource is encrypted under; undefined when it holds no JWE. */
  kidOf(stored: Resource): string | undefined;
}

function bindingOf(resource: Resource): string {
  const version = resource.meta?.versionId;
  return `${resource.resourceType}/${resource.id ?? ''}${version ? `/_history/${version}` : ''}`;
}

/** Every served type is a DomainResource, which may carry extensions. */
const extensionsOf = (resource: Resource): Extension[] | undefined => (resource as { extension?: Extension[] }).extension;

function jweOf(resource: Resource): string | undefined {
  return extensionsOf(resource)?.find((e) => e.url === ENCRYPTED_ELEMENTS_URL)?.valueString;
}

/**
 * The StorageCodec of issue 9: before storage, the sensitive elements are removed and encrypted
 * together, one JWE per resource version (A256GCM; `dir` under the ring's current key, or A256KW
 * for keys made before issue 14, the kid in the header); after loading, they are decrypted and put back. A read costs at
 * most one decryption. A JWE that cannot be decrypted (unknown kid, wrong key, tampering) fails
 * the read with a 500 and a log line: partial data is never returned.
 */
export function createJweCodec(options: { ring: KeyRingRef; elements: SensitiveElements; logger: Logger }): JweCodec {
  const { ring, elements, logger } = options;

  function failure(resource: Resource, kid: string | undefined, problem: string, err?: unknown): FhirError {
    logger.error({ resourceType: resource.resourceType, id: resource.id, kid, problem, ...(err ? { err: (err as Error).message } : {}) }, 'crypto: a stored resource cannot be decrypted');
    return new FhirError('internal', `${resource.resourceType}/${resource.id} cannot be decrypted: ${problem}`);
  }

  return {
    async encode(resource) {
      if (jweOf(resource) !== undefined) {
        throw new FhirError('invalid-resource', `The extension ${ENCRYPTED_ELEMENTS_URL} is reserved for the server`, { expression: [`${resource.resourceType}.extension`] });
      }
      const paths = elements.select(resource);
      if (paths.length === 0) return resource;
      const { redacted, keys } = redact(resource, paths);
      const source = resource as unknown as Record<string, unknown>;
      const payload: Payload = { r: bindingOf(resource), k: keys, o: Object.fromEntries(keys.map((k) => [k, source[k]])) };
      const jwe = await ring.current.atRest.encrypt(JSON.stringify(payload));
      const extension: Extension = { url: ENCRYPTED_ELEMENTS_URL, valueString: jwe };
      return { ...redacted, extension: [...(extensionsOf(redacted) ?? []), extension] } as Resource;
    },

    async decode(stored) {
      const jwe = jweOf(stored);
      if (jwe === undefined) return stored;
      const current = ring.current;
      const kid = jweHeaderKid(jwe);
      const decrypter = kid === undefined ? undefined : current.atRestDecrypters.get(kid);
      if (!decrypter) throw failure(stored, kid, `its key '${kid ?? '?'}' is not in the key ring (${current.source})`);
      let payload: Payload;
      try {
        payload = JSON.parse((await decrypter.decrypt(jwe)).plaintext.toString('utf8')) as Payload;
      } catch (err) {
        throw failure(stored, kid, `the JWE does not decrypt with key '${kid}' (wrong key or altered data)`, err);
      }
      if (payload.r !== bindingOf(stored)) throw failure(stored, kid, `the JWE belongs to ${String(payload.r)}`);
      const resource = { ...stored } as unknown as Record<string, unknown>;
      const others = extensionsOf(stored)!.filter((e) => e.url !== ENCRYPTED_ELEMENTS_URL);
      if (others.length > 0) resource.extension = others;
      else delete resource.extension;
      for (const key of payload.k) {
        if (key in payload.o) resource[key] = payload.o[key];
        else delete resource[key];
      }
      return resource as unknown as Resource;
    },

    kidOf(stored) {
      const jwe = jweOf(stored);
      return jwe === undefined ? undefined : jweHeaderKid(jwe);
    },
  };
}
