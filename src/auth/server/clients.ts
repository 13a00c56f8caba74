import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { JSONWebKeySet } from 'jose';
import type { ClientMetadata } from 'oidc-provider';
import { parseScope } from '../scopes.js';
import { JsonFile } from './json-file.js';

/** Scopes that are not clinical but a client may be registered for (SMART App Launch, OpenID). */
export const NON_CLINICAL_SCOPES = ['openid', 'fhirUser', 'profile', 'launch', 'launch/patient', 'offline_access', 'online_access'] as const;

/**
 * How an application authenticates at the token endpoint (SMART client types):
 * `backend` — SMART Backend Services, client credentials with `private_key_jwt`;
 * `public` — a browser or native app, authorization code + PKCE, no secret;
 * `confidential` — a server-side app, authorization code + PKCE with `private_key_jwt` (if keys are given) or a secret.
 */
export type ClientKind = 'backend' | 'public' | 'confidential';

export interface ClientRegistration {
  name: string;
  kind: ClientKind;
  /** Space-separated scopes the client may ask for (clinical scopes, `launch`, `openid`...). */
  scope: string;
  redirectUris?: string[];
  jwks?: JSONWebKeySet;
  jwksUri?: string;
}

export interface ClientStore {
  /** Registers a client; a `confidential` client without keys gets a secret, returned only here. */
  register(registration: ClientRegistration): { clientId: string; clientSecret?: string; metadata: ClientMetadata };
  list(): ClientMetadata[];
  remove(clientId: string): boolean;
  /** oidc-provider metadata of a client, or undefined. */
  metadata(clientId: string): ClientMetadata | undefined;
  /** Registers (or brings up to date) a client with a fixed id, e.g. FhirGate's own patient portal. */
  ensure(clientId: string, registration: ClientRegistration): void;
  /** The origins of every app's redirect URIs: where browser apps run (the default CORS allow-list). */
  redirectOrigins(): Set<string>;
}

/** Thrown for a registration that cannot be accepted; the message says why. */
export class RegistrationError extends Error {
  override name = 'RegistrationError';
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

function validate(reg: ClientRegistration): void {
  if (!reg.name || reg.name.length > 200) throw new RegistrationError('name is required (at most 200 characters)');
  if (!['backend', 'public', 'confidential'].includes(reg.kind)) throw new RegistrationError('kind must be backend, public or confidential');
  for (const scope of reg.scope.split(/\s+/).filter(Boolean)) {
    if (!parseScope(scope) && !(NON_CLINICAL_SCOPES as readonly string[]).includes(scope)) throw new RegistrationError(`'${scope}' is not a scope FhirGate grants`);
  }
  if (reg.kind === 'backend') {
    if (!reg.jwks && !reg.jwksUri) throw new RegistrationError('a backend client needs its public keys (jwks or jwksUri) for private_key_jwt');
    if (reg.scope.split(/\s+/).some((s) => s && parseScope(s) && parseScope(s)!.level !== 'system')) throw new RegistrationError('a backend client takes system/ scopes only');
  } else {
    if (!reg.redirectUris?.length) throw new RegistrationError('an app needs at least one redirect URI');
    for (const uri of reg.redirectUris) {
      const url = URL.canParse(uri) ? new URL(uri) : undefined;
      const local = url?.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
      if (!url || url.hash || !(url.protocol === 'https:' || local)) throw new RegistrationError(`redirect URI '${uri}' must be https (or http on localhost), without a fragment`);
    }
  }
  for (const key of reg.jwks?.keys ?? []) {
    if (PRIVATE_MEMBERS.some((m) => m in key)) throw new RegistrationError('jwks must hold public keys only');
  }
}

/**
 * oidc-provider metadata of a registration. oidc-provider accepts only its static scopes in `scope`;
 * the clinical SMART scopes the client may ask for go in `smart_scopes` (read by `provider.ts`).
 */
function metadataOf(reg: ClientRegistration, clientId: string, clientSecret: string | undefined): ClientMetadata {
  const keys = reg.jwks ? { jwks: reg.jwks } : reg.jwksUri ? { jwks_uri: reg.jwksUri } : {};
  const all = reg.scope.split(/\s+/).filter(Boolean);
  const statics = all.filter((s) => !parseScope(s)).join(' ');
  const scopes = { ...(statics ? { scope: statics } : {}), smart_scopes: all.filter((s) => parseScope(s)).join(' ') };
  if (reg.kind === 'backend') {
    return { client_id: clientId, client_name: reg.name, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'private_key_jwt', ...scopes, ...keys };
  }
  const auth = reg.kind === 'public' ? 'none' : clientSecret ? 'client_secret_basic' : 'private_key_jwt';
  return {
    client_id: clientId,
    client_name: reg.name,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: reg.redirectUris,
    token_endpoint_auth_method: auth,
    ...scopes,
    ...(clientSecret ? { client_secret: clientSecret } : {}),
    ...(reg.kind === 'confidential' ? keys : {}),
  };
}

/** The registered OAuth clients, in `<authDir>/clients.json`. */
export function createClientStore(authDir: string): ClientStore {
  const file = new JsonFile<Record<string, ClientMetadata>>(path.join(authDir, 'clients.json'), () => ({}));
  return {
    register(registration) {
      validate(registration);
      const clientId = randomUUID();
      const clientSecret = registration.kind === 'confidential' && !registration.jwks && !registration.jwksUri ? randomBytes(32).toString('base64url') : undefined;
      const metadata = metadataOf(registration, clientId, clientSecret);
      file.update((clients) => {
        clients[clientId] = metadata;
      });
      return { clientId, ...(clientSecret ? { clientSecret } : {}), metadata };
    },
    list: () => Object.values(file.read()),
    remove: (clientId) =>
      file.update((clients) => {
        const had = clientId in clients;
        delete clients[clientId];
        return had;
      }),
    metadata: (clientId) => file.read()[clientId],
    ensure(clientId, registration) {
      validate(registration);
      const metadata = metadataOf(registration, clientId, undefined);
      if (JSON.stringify(file.read()[clientId]) === JSON.stringify(metadata)) return;
      file.update((clients) => {
        clients[clientId] = metadata;
      });
    },
    redirectOrigins: () => new Set(Object.values(file.read()).flatMap((c) => (c.redirect_uris ?? []).map((uri) => new URL(uri).origin))),
  };
}
