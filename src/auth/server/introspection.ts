import { decodeJwt } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { TokenVerifier } from '../bearer.js';

/**
 * Token introspection (RFC 7662) of FhirGate's JWT access tokens, which oidc-provider answers
 * `unsupported_token_type` (it introspects only the tokens it stores). After oidc-provider has
 * authenticated the client, the token is checked exactly as the resource server checks it
 * (signature, audience, lifetime, a revoked grant), so `active` says what the FHIR server would do.
 * The answer carries what SMART asks for (`active`, `scope`, `client_id`, `exp`, and `patient`,
 * `fhirUser` when present). A public client may introspect only its own tokens (oidc-provider's
 * default policy for the tokens it stores).
 */
export function introspectAccessTokens(verify: TokenVerifier, revokeGrant: (grantId: string) => void) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> => {
    await next();
    const client = ctx.oidc?.client;
    if (ctx.oidc?.route === 'revocation' && client) return revokeAccessToken(ctx, verify, revokeGrant);
    if (ctx.oidc?.route !== 'introspection' || !client) return;
    const answered = ctx.body as { active?: boolean } | undefined;
    if (ctx.status === 200 && answered?.active === true) return;
    const token = String(ctx.oidc.params?.token ?? '');
    let claims: Record<string, unknown>;
    try {
      await verify(token);
      claims = decodeJwt(token);
    } catch {
      ctx.status = 200;
      ctx.body = { active: false };
      return;
    }
    if (client.clientAuthMethod === 'none' && claims.client_id !== client.clientId) {
      ctx.status = 200;
      ctx.body = { active: false };
      return;
    }
    const pick = (...names: string[]) => Object.fromEntries(names.filter((n) => claims[n] !== undefined).map((n) => [n, claims[n]]));
    ctx.status = 200;
    ctx.body = { active: true, token_type: 'Bearer', ...pick('scope', 'client_id', 'exp', 'iat', 'sub', 'iss', 'aud', 'patient', 'fhirUser', 'jti') };
  };
}

/**
 * Revocation (RFC 7009) of a JWT access token, which oidc-provider cannot revoke on its own: its
 * grant is revoked, which the resource server honours on the next request. Only the client the
 * token was issued to may revoke it; anything else is answered 200 without effect, as RFC 7009 asks.
 */
async function revokeAccessToken(ctx: KoaContextWithOIDC, verify: TokenVerifier, revokeGrant: (grantId: string) => void): Promise<void> {
  const error = (ctx.body as { error?: string } | undefined)?.error;
  if (error !== 'unsupported_token_type') return;
  const token = String(ctx.oidc.params?.token ?? '');
  try {
    await verify(token);
    const claims = decodeJwt(token);
    if (claims.client_id === ctx.oidc.client!.clientId && typeof claims.grant_id === 'string') revokeGrant(claims.grant_id);
  } catch {
    // An invalid or expired token is as good as revoked.
  }
  ctx.status = 200;
  ctx.body = '';
}
