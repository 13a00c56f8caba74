import type { KoaContextWithOIDC } from 'oidc-provider';
import { InvalidTokenError, type TokenVerifier } from '../bearer.js';
import type { AccountStore } from './accounts.js';
import type { ClientStore } from './clients.js';
import type { OidcAdapter } from './oidc-adapter.js';

export interface AccountApiDeps {
  verify: TokenVerifier;
  accounts: AccountStore;
  clients: ClientStore;
  grants: Pick<OidcAdapter, 'grantsOf' | 'revokeGrant'>;
}

/**
 * The signed-in user's own apps (SMART's management endpoint is the portal that calls this):
 * `GET /account/apps` lists the apps they authorized (name, scopes, since when) and the names of all
 * registered apps (so an access log shows names, not client ids); `DELETE /account/apps/{grantId}`
 * revokes one: the grant, its refresh tokens and codes. Access tokens already issued are JWTs that
 * stay valid until they expire (at most an hour); the app cannot renew them.
 */
export function accountApi(deps: AccountApiDeps) {
  const send = (ctx: KoaContextWithOIDC, status: number, body?: unknown): void => {
    ctx.status = status;
    if (body !== undefined) ctx.body = body;
  };
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<unknown> => {
    if (ctx.path !== '/account/apps' && !ctx.path.startsWith('/account/apps/')) return next();
    ctx.set('Cache-Control', 'no-store');
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(ctx.get('Authorization'));
    let subject: string | undefined;
    try {
      subject = match ? (await deps.verify(match[1])).subject : undefined;
    } catch (err) {
      if (!(err instanceof InvalidTokenError)) throw err;
    }
    const account = subject ? deps.accounts.findById(subject) : undefined;
    if (!account) {
      ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      return send(ctx, 401, { error: 'invalid_token', error_description: 'A Bearer token of a signed-in FhirGate user is required' });
    }
    const mine = deps.grants.grantsOf(account.id);
    if (ctx.method === 'GET' && ctx.path === '/account/apps') {
      const names = Object.fromEntries(deps.clients.list().map((c) => [c.client_id, c.client_name ?? c.client_id]));
      return send(ctx, 200, { apps: mine.map((g) => ({ ...g, name: names[g.clientId] ?? g.clientId })), names });
    }
    const grantId = /^\/account\/apps\/([A-Za-z0-9_-]{1,100})$/.exec(ctx.path)?.[1];
    if (ctx.method === 'DELETE' && grantId) {
      // Only the account's own grants: another user's grant id is as unknown as a made-up one.
      if (!mine.some((g) => g.grantId === grantId)) return send(ctx, 404, { error: 'not_found', error_description: 'No such app authorization' });
      deps.grants.revokeGrant(grantId);
      return send(ctx, 204);
    }
    return send(ctx, 405, { error: 'invalid_request', error_description: 'Method not allowed' });
  };
}
