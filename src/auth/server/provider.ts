import { decodeJwt, type JSONWebKeySet } from 'jose';
import Provider, { errors, type Adapter, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { parseScope, type ClinicalScope } from '../scopes.js';
import type { AccountStore } from './accounts.js';
import { NON_CLINICAL_SCOPES } from './clients.js';
import type { LaunchContexts } from './launch-context.js';
import { errorPage } from './pages.js';

export interface ProviderDeps {
  /** Issuer URL (`PUBLIC_URL/auth`); the provider is mounted at its path. */
  issuer: string;
  /** The one resource server: access tokens carry it as `aud`. */
  fhirBaseUrl: string;
  signingKeys: JSONWebKeySet;
  cookieKeys: string[];
  adapter: (model: string) => Adapter;
  accounts: AccountStore;
  launches: LaunchContexts;
  /** CORS_ALLOWED_ORIGINS when set; otherwise each public client's redirect origins (below). */
  corsOrigins?: string[] | '*';
}

/** Whether `scope` is within one of the client's registered clinical scopes (same level, type or `*`, letters, query). */
function covered(scope: ClinicalScope, allowed: readonly ClinicalScope[]): boolean {
  return allowed.some(
    (a) =>
      a.level === scope.level &&
      (a.resourceType === '*' || a.resourceType === scope.resourceType) &&
      [...scope.permissions].every((p) => a.permissions.has(p)) &&
      (!a.query || JSON.stringify(a.query) === JSON.stringify(scope.query)),
  );
}

/**
 * The clinical scopes a token for the FHIR server may carry: those asked for (now or in the grant
 * being exchanged) that the client's registration covers. oidc-provider intersects what is asked
 * with this list, so SMART's open-ended scope syntax works with its static scope model.
 */
function fhirScopes(ctx: KoaContextWithOIDC, client: { smart_scopes?: unknown }, indicator: string): string {
  const allowed = String(client.smart_scopes ?? '').split(' ').flatMap((s) => parseScope(s) ?? []);
  const e = ctx.oidc.entities as Record<string, { scope?: string; resources?: Record<string, string> } | undefined>;
  const candidates = [ctx.oidc.params?.scope, e.Grant?.resources?.[indicator], e.AuthorizationCode?.scope, e.RefreshToken?.scope]
    .filter((s): s is string => typeof s === 'string')
    .flatMap((s) => s.split(' '));
  return [...new Set(candidates)].filter((s) => {
    const parsed = parseScope(s);
    return parsed !== undefined && covered(parsed, allowed);
  }).join(' ');
}

/** The oidc-provider configuration of FhirGate's embedded SMART authorization server. */
export function createProvider(deps: ProviderDeps): Provider {
  const { accounts, launches, fhirBaseUrl } = deps;
  const mountPath = new URL(deps.issuer).pathname.replace(/\/$/, '');
  const configuration: Configuration = {
    adapter: deps.adapter,
    jwks: deps.signingKeys as Configuration['jwks'],
    cookies: { keys: deps.cookieKeys, long: { signed: true, httpOnly: true, sameSite: 'lax' }, short: { signed: true, httpOnly: true, sameSite: 'lax' } },
    scopes: [...NON_CLINICAL_SCOPES],
    claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['preferred_username'] },
    // SMART puts fhirUser in the ID token itself.
    conformIdTokenClaims: false,
    extraClientMetadata: { properties: ['smart_scopes'] },
    extraParams: ['launch', 'aud'],
    clientAuthMethods: ['none', 'client_secret_basic', 'private_key_jwt'],
    // SMART Backend Services asks for RS384 and ES384 client assertions.
    enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'RS384', 'ES256', 'ES384'] },
    pkce: { required: () => true },
    // SMART's online_access (scopes-and-launch-context.html#refresh-tokens): a refresh token that lasts
    // while the user's sign-in session does (oidc-provider's expiresWithSession, its default without
    // offline_access); offline_access gives one that outlives the session.
    issueRefreshToken: async (_ctx, client, source) => client.grantTypeAllowed('refresh_token') && (source.scopes.has('offline_access') || source.scopes.has('online_access')),
    // Browser apps call the token, userinfo, introspection and revocation endpoints cross-origin:
    // the configured origins, or else (oidc-provider's default) a public client's own redirect origins.
    clientBasedCORS(ctx, origin, client) {
      if (origin === 'null') return false;
      if (deps.corsOrigins) return deps.corsOrigins === '*' || deps.corsOrigins.includes(origin);
      if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
      return client.redirectUris?.some((uri) => URL.canParse(uri) && new URL(uri).origin === origin) ?? false;
    },
    ttl: { AccessToken: 3600, AuthorizationCode: 60, ClientCredentials: 300, IdToken: 3600, Interaction: 3600, Session: 14 * 86400, Grant: 365 * 86400, RefreshToken: 30 * 86400 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // SMART clients name the FHIR server in `aud`; it is the only resource, so it is the default.
        defaultResource(ctx) {
          const aud = ctx.oidc.params?.aud;
          if (typeof aud === 'string' && aud.replace(/\/$/, '') !== fhirBaseUrl) throw new errors.InvalidRequest(`aud must be ${fhirBaseUrl}`);
          return fhirBaseUrl;
        },
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, indicator, client) {
          if (indicator !== fhirBaseUrl) throw new errors.InvalidTarget();
          return {
            scope: fhirScopes(ctx, client as { smart_scopes?: unknown }, indicator),
            audience: fhirBaseUrl,
            accessTokenFormat: 'jwt',
            accessTokenTTL: client.grantTypes?.includes('client_credentials') ? 300 : 3600,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    async findAccount(_ctx, sub) {
      const account = accounts.findById(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub, fhirUser: account.fhirUser, preferred_username: account.username }) };
    },
    // The SMART claims of access tokens (what src/auth/bearer.ts reads): fhirUser, role, patient.
    async extraTokenClaims(_ctx, token) {
      const claims: Record<string, unknown> = {};
      const { accountId, grantId } = 'accountId' in token ? token : { accountId: undefined, grantId: undefined };
      const account = accountId ? accounts.findById(accountId) : undefined;
      if (account) {
        if (account.fhirUser) claims.fhirUser = account.fhirUser;
        claims.role = account.roles;
      }
      // The grant, so the resource server can refuse the token once the grant is revoked (issue 15).
      if (grantId) claims.grant_id = grantId;
      const context = grantId ? launches.ofGrant(grantId) : undefined;
      if (context?.patient) claims.patient = context.patient;
      return claims;
    },
    interactions: { url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}` },
    routes: { authorization: '/authorize' },
    // A launch (EHR `launch`, or standalone `launch/patient`) always goes through consent, where its
    // patient is chosen and bound to the grant; an earlier grant would carry an earlier patient.
    async loadExistingGrant(ctx) {
      const decided = ctx.oidc.result?.consent?.grantId;
      const params = ctx.oidc.params ?? {};
      if (!decided && (params.launch || String(params.scope ?? '').split(' ').includes('launch/patient'))) return undefined;
      const grantId = decided ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage(String(out.error), String(out.error_description ?? ''));
    },
  };
  const provider = new Provider(deps.issuer, configuration);
  // An https issuer served by plain-http Node sits behind a TLS-terminating proxy: trust its X-Forwarded-* (secure cookies).
  provider.proxy = new URL(deps.issuer).protocol === 'https:';
  // OpenID Connect honours offline_access only with prompt=consent; SMART apps ask for it without one,
  // and FhirGate shows its consent page anyway, so the prompt is added for them.
  provider.use(async (ctx, next) => {
    if (ctx.path === '/authorize' && ctx.method === 'GET') {
      const query = new URLSearchParams(ctx.querystring);
      if ((query.get('scope') ?? '').split(' ').includes('offline_access') && !query.has('prompt')) {
        query.set('prompt', 'consent');
        ctx.querystring = query.toString();
        // Keep originalUrl = mount path + url: oidc-provider derives its mount path from the two.
        (ctx.req as { originalUrl?: string }).originalUrl = `${mountPath}${ctx.url}`;
      }
    }
    await next();
  });
  // SMART: the token response names the launch patient beside the access token.
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.oidc?.route === 'token' && ctx.status === 200 && typeof body?.access_token === 'string') {
      // The response's scope names every granted scope (SMART), not only the FHIR server's.
      const oidcScope = (ctx.oidc.entities as { AuthorizationCode?: { scope?: string }; RefreshToken?: { scope?: string } });
      const granted = (oidcScope.AuthorizationCode ?? oidcScope.RefreshToken)?.scope;
      const scope = [...new Set([...(granted ?? '').split(' '), ...String(body.scope ?? '').split(' ')].filter(Boolean))].join(' ');
      const patient = decodeJwt(body.access_token).patient;
      ctx.body = { ...body, ...(scope ? { scope } : {}), ...(typeof patient === 'string' ? { patient, need_patient_banner: true } : {}) };
    }
  });
  return provider;
}

export type { ClientMetadata };
