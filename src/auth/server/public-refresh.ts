import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { readText } from './request-body.js';

/**
 * SMART App Launch lets a public app refresh with only `grant_type` and `refresh_token`
 * (app-launch.html#refresh-access-token); fhirclient does exactly that by default. oidc-provider
 * wants every token request to name its client, so for a refresh token of a *public* client
 * (`token_endpoint_auth_method: none`) the client is named from the token itself. Confidential
 * clients still authenticate: nothing is added for them, and oidc-provider refuses as before.
 */
export function publicClientRefresh(provider: Provider) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<unknown> => {
    if (ctx.method !== 'POST' || ctx.path !== '/token' || ctx.get('Authorization') || !ctx.is('application/x-www-form-urlencoded')) return next();
    const form = new URLSearchParams(await readText(ctx.req));
    const refreshToken = form.get('refresh_token');
    if (form.get('grant_type') === 'refresh_token' && refreshToken && !form.has('client_id') && !form.has('client_assertion')) {
      const token = await provider.RefreshToken.find(refreshToken).catch(() => undefined);
      const client = token?.clientId ? await provider.Client.find(token.clientId).catch(() => undefined) : undefined;
      if (client?.clientAuthMethod === 'none') form.set('client_id', client.clientId);
    }
    // The body is read: oidc-provider takes it from `req.body` (its documented fallback for parsed bodies).
    (ctx.req as { body?: string }).body = form.toString();
    return next();
  };
}
