import type { KoaContextWithOIDC } from 'oidc-provider';
import { authenticationEventOf, type Authentication } from '../../audit/authentication-event.js';
import type { AuditSink } from '../../audit/audit-sink.js';
import type { AccountStore } from './accounts.js';

/** How the authorization server records its events (the FHIR server's audit sink, `src/app.ts`). */
export type AuthAudit = Pick<AuditSink, 'recordEvent'>;

export interface LoginAudit {
  /** Records a sign-in step; throws when it cannot be recorded (a success must then not happen). */
  record(ctx: KoaContextWithOIDC, auth: Omit<Authentication, 'address'>): Promise<void>;
  /** Records a failure; one that cannot be recorded was logged by the sink and is answered as a failure anyway. */
  recordFailure(ctx: KoaContextWithOIDC, auth: Omit<Authentication, 'address' | 'ok'>): Promise<void>;
  /** Middleware recording token requests (grants) and sign-outs. */
  middleware(): (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => Promise<void>;
}

type Entities = Record<string, { accountId?: string; clientId?: string } | undefined>;

/**
 * Audit of the embedded authorization server (issue 8: logins are audited like every access):
 * password and TOTP sign-ins, lock-outs, sign-outs, and every token request, successful or not.
 * A token whose grant cannot be audited is not handed out (503).
 */
export function createLoginAudit(audit: AuthAudit, accounts: AccountStore): LoginAudit {
  const userOf = (accountId: string | undefined): Authentication['user'] => {
    const account = accountId ? accounts.findById(accountId) : undefined;
    return account ? { id: account.id, username: account.username, ...(account.fhirUser ? { fhirUser: account.fhirUser } : {}) } : undefined;
  };
  const record = (ctx: KoaContextWithOIDC, auth: Omit<Authentication, 'address'>): Promise<void> => audit.recordEvent(authenticationEventOf({ ...auth, address: ctx.ip }));

  async function token(ctx: KoaContextWithOIDC): Promise<void> {
    const entities = (ctx.oidc.entities ?? {}) as Entities;
    const grantType = String(ctx.oidc.params?.grant_type ?? 'unknown');
    const accountId = entities.Account?.accountId ?? entities.AuthorizationCode?.accountId ?? entities.RefreshToken?.accountId;
    const clientId = ctx.oidc.client?.clientId ?? (typeof ctx.oidc.params?.client_id === 'string' ? ctx.oidc.params.client_id : undefined);
    const ok = ctx.status === 200;
    const reason = ok ? undefined : String((ctx.body as { error?: unknown } | undefined)?.error ?? ctx.status);
    try {
      await record(ctx, { method: grantType, ok, ...(reason ? { reason } : {}), user: userOf(accountId), ...(clientId ? { clientId } : {}) });
    } catch {
      if (!ok) return;
      ctx.status = 503;
      ctx.set('Retry-After', '5');
      ctx.body = { error: 'temporarily_unavailable', error_description: 'The audit trail cannot be written; no token was issued' };
    }
  }

  return {
    record,
    recordFailure: (ctx, auth) => record(ctx, { ...auth, ok: false }).catch(() => undefined),
    middleware: () => async (ctx, next) => {
      await next();
      const route = ctx.oidc?.route;
      if (route === 'token') return token(ctx);
      // A completed sign-out; the session is gone by now, its account is still known to the context.
      if (route === 'end_session_confirm' && ctx.status === 303) {
        const clientId = ((ctx.oidc.entities ?? {}) as Entities).Client?.clientId;
        await record(ctx, { method: 'session', ok: true, logout: true, user: userOf(ctx.oidc.session?.accountId), ...(clientId ? { clientId } : {}) }).catch(() => undefined);
      }
    },
  };
}
