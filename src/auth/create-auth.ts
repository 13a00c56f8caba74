import type { Resource } from '@medplum/fhirtypes';
import type { JSONWebKeySet } from 'jose';
import type { AuthConfig } from '../config.js';
import type { StorageCodec } from '../fhir/codec.js';
import type { R4Definitions } from '../fhir/definitions.js';
import type { FhirRequest, FhirResult } from '../fhir/request.js';
import type { Compartment } from '../search/compartment.js';
import type { SearchIndex } from '../search/types.js';
import type { StorePort } from '../store/port.js';
import { createSmartAuthorizer, type Authorizer } from './authorize.js';
import { createTokenVerifier, type TokenVerifier, type TrustedIssuer } from './bearer.js';
import { localKeys, remoteKeys } from './jwks.js';
import { createScopeQueryMatcher } from './scope-query.js';
import { createAccountStore } from './server/accounts.js';
import { createClientStore } from './server/clients.js';
import { createAuthServer, type AuthServer } from './server/index.js';
import { createLaunchContexts } from './server/launch-context.js';
import { createPatientPicker } from './server/patient-picker.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { loadOrCreateCookieKeys, loadOrCreateSigningKeys } from './server/signing-keys.js';
import { externalSmartConfiguration } from './server/smart-configuration.js';
import { PORTAL_CLIENT_ID, portalRegistration } from '../portal/client.js';
import { createRevokedGrants } from './server/revoked-grants.js';

export interface Auth {
  /** Verifies Bearer tokens at the HTTP edge. */
  verify: TokenVerifier;
  /** The pipeline's authorization step. */
  authorize: Authorizer;
  /** The embedded server's private signing keys (undefined when it does not run). */
  signingKeys?: JSONWebKeySet;
  /** The embedded authorization server, when it runs. */
  server?: AuthServer;
  /** Whether a browser app at `origin` may call the FHIR API (CORS): CORS_ALLOWED_ORIGINS, or the registered apps' redirect origins. */
  corsAllows(origin: string): boolean;
  /** `/.well-known/smart-configuration` of the FHIR base: the embedded server's, or the external provider's endpoints. */
  smartConfiguration(): Promise<Record<string, unknown> | undefined>;
}

/** Builds the resource-server side of authorization from the configuration: trusted issuers, verifier, authorizer. */
export async function createAuth(options: {
  config: AuthConfig;
  audience: string;
  definitions: R4Definitions;
  patientCompartment: Compartment;
  searchIndex: SearchIndex;
  store: StorePort;
  codec: StorageCodec;
  audit: AuditSink;
  /** The pipeline (built after this, which it needs for authorization): the sign-in's patient picker searches through it. */
  execute: (request: FhirRequest) => Promise<FhirResult>;
}): Promise<Auth> {
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
  const authorize = createSmartAuthorizer({
    compartment: options.patientCompartment,
    searchIndex: options.searchIndex,
    matchQuery: createScopeQueryMatcher(definitions.searchParameters),
  });
  const revokedGrants = signingKeys ? createRevokedGrants(config.dir) : undefined;
  const isRevoked = (payload: { iss?: string; grant_id?: unknown }): boolean =>
    revokedGrants !== undefined && payload.iss === config.embeddedIssuer && typeof payload.grant_id === 'string' && revokedGrants.isRevoked(payload.grant_id);
  const verify = createTokenVerifier({ issuers, audience: options.audience, clockSkewSeconds: config.clockSkewSeconds, isRevoked });
  const clients = signingKeys ? createClientStore(config.dir) : undefined;
  // The patient portal signs in here like any SMART app; its registration follows PUBLIC_URL.
  clients?.ensure(PORTAL_CLIENT_ID, portalRegistration(config.portalUrl));
  const server = signingKeys && clients
    ? createAuthServer({
        issuer: config.embeddedIssuer,
        fhirBaseUrl: options.audience,
        dir: config.dir,
        signingKeys,
        cookieKeys: await loadOrCreateCookieKeys(config.dir),
        accounts: createAccountStore(config.dir),
        clients,
        corsOrigins: config.corsOrigins,
        portalUrl: config.portalUrl,
        launches: createLaunchContexts(config.dir),
        verify,
        revokedGrants: revokedGrants!,
        audit: options.audit,
        picker: createPatientPicker({ execute: options.execute, baseUrl: options.audience }),
        describePatient: async (id) => {
          const [record] = await store.find('current', { resourceType: 'Patient', id }, { limit: 1 });
          return record?.resource && !record.deleted ? patientLabel(await codec.decode(record.resource), id) : id;
        },
      })
    : undefined;
  let external: Promise<Record<string, unknown> | undefined> | undefined;
  return {
    verify,
    authorize,
    signingKeys,
    server,
    corsAllows: (origin) => (config.corsOrigins ? config.corsOrigins === '*' || config.corsOrigins.includes(origin) : (clients?.redirectOrigins().has(origin) ?? false)),
    smartConfiguration: async () => {
      if (server) return server.smartConfiguration();
      if (!config.external) return undefined;
      external ??= discover(config.external.issuer);
      const found = await external;
      if (!found) external = undefined;
      return found;
    },
  };
}

function patientLabel(resource: Resource, id: string): string {
  const name = (resource as { name?: Array<{ given?: string[]; family?: string; text?: string }> }).name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  return text ? `${text} (${id})` : id;
}

/** The external provider's OpenID discovery, turned into a SMART configuration; undefined when unreachable. */
async function discover(issuer: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? externalSmartConfiguration((await res.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
