import type { Resource } from '@medplum/fhirtypes';

/**
 * How a resource is turned into what the store keeps, and back. Identity today; the JWE
 * encryption of sensitive elements plugs in here, so every write path (REST, bundles, HL7)
 * and every read path pass through it without knowing.
 */
export interface StorageCodec {
  encode(resource: Resource): Promise<Resource>;
  decode(resource: Resource): Promise<Resource>;
}

export const identityCodec: StorageCodec = {
  encode: async (resource) => resource,
  decode: async (resource) => resource,
};
