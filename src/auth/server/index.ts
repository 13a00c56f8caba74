import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONWebKeySet } from 'jose';
import type { TokenVerifier } from '../bearer.js';
import type { AccountStore } from './accounts.js';
import { accountApi } from './account-api.js';
import { adminApi } from './admin-api.js';
import type { ClientStore } from './clients.js';
import type { PatientPicker } from './patient-picker.js';
import { interactionRoutes } from './interactions.js';
import type { LaunchContexts } from './launch-context.js';
import { createLoginAudit } from './login-audit.js';
import type { AuditSink } from '../../audit/audit-sink.js';
import { createOidcAdapter } from './oidc-adapter.js';
import { createProvider } from './provider.js';
import { publicClientRefresh } from './public-refresh.js';
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
  /** CORS_ALLOWED_ORIGINS (unset: each public client's redirect origins). */
  corsOrigins?: string[] | '*';
  /** The patient portal (`PUBLIC_URL/portal/`): SMART's management_endpoint, where users see and revoke their apps. */
  portalUrl: string;
  /** Grants revoked here, which the resource server refuses (issue 15). */
  revokedGrants: RevokedGrants;
  /** Where sign-ins, sign-outs and token grants are recorded (the audit sink); the admin API records through the one audit writer (`withAudit`). */
  audit: AuditSink;
  /** The patient picker of standalone `launch/patient` sign-ins by clinicians: a search through the pipeline (issue 15 item 5). */
  picker: PatientPicker;
  /** A patient's name for the consent page. */
  describePatient(id: string): Promise<string>;
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
  provider.use(publicClientRefresh(provider));
  provider.use(audit.middleware());
  provider.use(interactionRoutes({ provider, mountPath, accounts: deps.accounts, launches: deps.launches, audit, picker: deps.picker, describePatient: deps.describePatient, portalUrl: deps.portalUrl }));
  provider.use(adminApi(deps));
  // An app the user disconnects in the portal loses its access tokens too, not only its refresh tokens.
  const revokeGrant = (grantId: string): boolean => {
    deps.revokedGrants.revoke(grantId);
    return adapter.revokeGrant(grantId);
  };
  provider.use(accountApi({ ...deps, grants: { grantsOf: adapter.grantsOf, revokeGrant } }));
  const origin = new URL(deps.issuer).origin;
  const url = (name: string): string => `${origin}${provider.pathFor(name)}`;
  const handler = provider.callback();
  return {
    mountPath,
    handle: (req, res) => void handler(req, res),
    smartConfiguration: () =>
      embeddedSmartConfiguration(
        { issuer: deps.issuer, authorization: url('authorization'), token: url('token'), jwks: url('jwks'), introspection: url('introspection'), revocation: url('revocation'), userinfo: url('userinfo') },
        deps.portalUrl,
      ),
    close: () => adapter.flush(),
  };
}
