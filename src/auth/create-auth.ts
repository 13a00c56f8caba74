import type { JSONWebKeySet } from 'jose';
import type { AuthConfig } from '../config.js';
import type { StorageCodec } from '../fhir/codec.js';
import type { R4Definitions } from '../fhir/definitions.js';
import type { StorePort } from '../store/port.js';
import { createSmartAuthorizer, type Authorizer } from './authorize.js';
import { createTokenVerifier, type TokenVerifier, type TrustedIssuer } from './bearer.js';
import { createCompartmentCheck } from './compartment.js';
import { localKeys, remoteKeys } from './jwks.js';
import { createScopeQueryMatcher } from './scope-query.js';
import { loadOrCreateSigningKeys } from './server/signing-keys.js';

export interface Auth {
  /** Verifies Bearer tokens at the HTTP edge. */
  verify: TokenVerifier;
  /** The pipeline's authorization step. */
  authorize: Authorizer;
  /** The embedded server's private signing keys (undefined when it does not run). */
  signingKeys?: JSONWebKeySet;
}

/** Builds the resource-server side of authorization from the configuration: trusted issuers, verifier, authorizer. */
export async function createAuth(options: { config: AuthConfig; audience: string; definitions: R4Definitions; store: StorePort; codec: StorageCodec }): Promise<Auth> {
  const { config, store, codec, definitions } = options;
  const issuers: TrustedIssuer[] = [];
  let signingKeys: JSONWebKeySet | undefined;
  if (config.embedded) {
    signingKeys = await loadOrCreateSigningKeys(config.dir);
    issuers.push({ issuer: config.embeddedIssuer, keys: localKeys(signingKeys), roleClaim: 'role' });
  }
  if (config.external) {
    const keys = remoteKeys(config.external.jwksUrl, { cooldownMs: config.jwksCooldownSeconds * 1000 });
    issuers.push({ issuer: config.external.issuer, keys, roleClaim: config.roleClaim });
  }
  const load = async (filter: Record<string, unknown>, collection: 'current' | 'history') => {
    const [record] = await store.find(collection, filter, { limit: 1 });
    return record?.resource && !record.deleted ? codec.decode(record.resource) : undefined;
  };
  const authorize = createSmartAuthorizer({
    compartment: createCompartmentCheck(definitions.patientCompartment, definitions.searchParameters),
    matchQuery: createScopeQueryMatcher(definitions.searchParameters),
    loadCurrent: (resourceType, id) => load({ resourceType, id }, 'current'),
    loadVersion: (resourceType, id, versionId) => (/^[1-9][0-9]{0,15}$/.test(versionId) ? load({ resourceType, id, versionId: Number(versionId) }, 'history') : Promise.resolve(undefined)),
  });
  return {
    verify: createTokenVerifier({ issuers, audience: options.audience, clockSkewSeconds: config.clockSkewSeconds }),
    authorize,
    signingKeys,
  };
}
