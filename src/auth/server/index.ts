import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONWebKeySet } from 'jose';
import type { TokenVerifier } from '../bearer.js';
import type { AccountStore } from './accounts.js';
import { adminApi } from './admin-api.js';
import type { ClientStore } from './clients.js';
import { interactionRoutes } from './interactions.js';
import type { LaunchContexts } from './launch-context.js';
import { createLoginAudit, type AuthAudit } from './login-audit.js';
import { createOidcAdapter } from './oidc-adapter.js';
import { createProvider } from './provider.js';
import { embeddedSmartConfiguration } from './smart-configuration.js';
import { introspectAccessTokens } from './introspection.js';
import type { RevokedGrants } from './revoked-grants.js';

export interface AuthServerDeps {
  issuer: string;
  fhirBaseUrl: string;
  dir: string;
  signingKeys: JSONWebKeySet;
  cookieKeys: string[];
  accounts: AccountStore;
  clients: ClientStore;
  launches: LaunchContexts;
  verify: TokenVerifier;
  /** Grants revoked here, which the resource server refuses (issue 15). */
  revokedGrants: RevokedGrants;
  /** Where sign-ins, sign-outs and token grants are recorded (the audit sink). */
  audit: AuthAudit;
  listPatients(): Promise<Array<{ id: string; label: string }>>;
}

export interface AuthServer {
  /** Path the server is mounted at (the issuer's path, `/auth`). */
  mountPath: string;
  /** Node request handler; expects `req.url` below the mount path and `req.originalUrl` the full one. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  smartConfiguration(): Record<string, unknown>;
  /** Writes pending session state to disk. */
  close(): void;
}

/**
 * FhirGate's embedded SMART authorization server: oidc-provider (OpenID certified) configured for
 * SMART App Launch and Backend Services, with FhirGate's accounts, clients, login pages and admin API.
 */
export function createAuthServer(deps: AuthServerDeps): AuthServer {
  const mountPath = new URL(deps.issuer).pathname.replace(/\/$/, '');
  const adapter = createOidcAdapter(deps.dir, deps.clients);
  const provider = createProvider({ ...deps, adapter: adapter.factory });
  // A revoked grant (token revocation, a user ending it) takes its access tokens with it on the next request.
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => deps.revokedGrants.revoke(grantId));
  provider.use(introspectAccessTokens(deps.verify, (grantId) => deps.revokedGrants.revoke(grantId)));
  const audit = createLoginAudit(deps.audit, deps.accounts);
  provider.use(audit.middleware());
  provider.use(interactionRoutes({ provider, mountPath, accounts: deps.accounts, launches: deps.launches, audit, listPatients: deps.listPatients }));
  provider.use(adminApi(deps));
  const origin = new URL(deps.issuer).origin;
  const url = (name: string): string => `${origin}${provider.pathFor(name)}`;
  const handler = provider.callback();
  return {
    mountPath,
    handle: (req, res) => void handler(req, res),
    smartConfiguration: () =>
      embeddedSmartConfiguration(
        { issuer: deps.issuer, authorization: url('authorization'), token: url('token'), jwks: url('jwks'), introspection: url('introspection'), revocation: url('revocation'), userinfo: url('userinfo') },
        `${deps.issuer}/admin/clients`,
      ),
    close: () => adapter.flush(),
  };
}
