import type { KoaContextWithOIDC } from 'oidc-provider';
import { InvalidTokenError, type Principal, type TokenVerifier } from '../bearer.js';
import { AccountError, type Account, type AccountStore } from './accounts.js';
import { RegistrationError, type ClientRegistration, type ClientStore } from './clients.js';
import type { LaunchContexts } from './launch-context.js';
import { readText } from './request-body.js';
import { adminEventOf, type AdminAction } from '../../audit/admin-event.js';
import type { AuditSink } from '../../audit/audit-sink.js';

export interface AdminApiDeps {
  verify: TokenVerifier;
  accounts: AccountStore;
  clients: ClientStore;
  launches: LaunchContexts;
  /** Where administrative actions are recorded (the audit sink), issue 15. */
  audit?: Pick<AuditSink, 'recordEvent'>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

const LAUNCHING_ROLES = ['practitioner', 'pharmacist', 'receptionist'];

function publicAccount(a: Account) {
  return { id: a.id, username: a.username, roles: a.roles, fhirUser: a.fhirUser, mfa: a.totp?.confirmed === true, locked: Boolean(a.lockedUntil && Date.parse(a.lockedUntil) > Date.now()), mustChangePassword: a.mustChangePassword === true };
}

/**
 * JSON API of the embedded server, with the same Bearer tokens as the FHIR API:
 * `POST /launch` (an EHR user starts an EHR launch for a patient), and for admins
 * `/admin/clients` (register, list, remove OAuth clients) and `/admin/users` (create with a
 * one-time password, list, unlock, reset MFA, remove).
 */
export function adminApi(deps: AdminApiDeps) {
  const { accounts, clients, launches } = deps;

  async function principal(ctx: KoaContextWithOIDC, roles: readonly string[]): Promise<Principal> {
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(ctx.get('Authorization'));
    if (!match) throw new ApiError(401, 'invalid_token', 'A Bearer access token is required');
    let who: Principal;
    try {
      who = await deps.verify(match[1]);
    } catch (err) {
      if (err instanceof InvalidTokenError) throw new ApiError(401, 'invalid_token', err.message);
      throw err;
    }
    if (!who.roles.some((r) => roles.includes(r))) throw new ApiError(403, 'insufficient_scope', `Requires the role ${roles.join(' or ')}`);
    return who;
  }

  async function json(ctx: KoaContextWithOIDC): Promise<Record<string, unknown>> {
    try {
      const value = JSON.parse((await readText(ctx.req)) || '{}') as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // answered below
    }
    throw new ApiError(400, 'invalid_request', 'The body must be a JSON object');
  }

  async function route(ctx: KoaContextWithOIDC): Promise<unknown> {
    const { method, path } = ctx;
    if (method === 'POST' && path === '/launch') {
      await principal(ctx, LAUNCHING_ROLES);
      const patient = (await json(ctx)).patient;
      if (typeof patient !== 'string' || !/^[A-Za-z0-9.-]{1,64}$/.test(patient)) throw new ApiError(400, 'invalid_request', 'patient must be a Patient id');
      ctx.status = 201;
      return { launch: launches.createLaunch({ patient }) };
    }
    const admin = await principal(ctx, ['admin']);
    /** Every change an admin makes is audited (issue 15); one that cannot be recorded is answered 503 (it was made). */
    const audited = async (action: AdminAction['action'], target: AdminAction['target']): Promise<void> => {
      const who = { ...(admin.actor ? { fhirUser: admin.actor } : {}), ...(admin.subject ? { subject: admin.subject } : {}), ...(admin.clientId ? { clientId: admin.clientId } : {}) };
      await deps.audit?.recordEvent(adminEventOf({ action, target, admin: who, address: ctx.ip })).catch(() => {
        throw new ApiError(503, 'temporarily_unavailable', `The ${action} was done but could not be recorded in the audit trail`);
      });
    };
    if (path === '/admin/clients' && method === 'GET') return clients.list().map(({ client_secret, ...rest }) => rest);
    if (path === '/admin/clients' && method === 'POST') {
      const body = await json(ctx);
      // A backend client acts without a user, with system/ scopes: an admin token registering one would
      // grant its holder clinical access the admin role does not have (issue 15). Only the server's CLI does.
      if (body.kind === 'backend') {
        throw new ApiError(403, 'insufficient_scope', 'Backend clients (system/ scopes) are registered on the server with `npm run auth -- clients add --kind backend`, not through the admin API');
      }
      const registered = clients.register(body as unknown as ClientRegistration);
      await audited('register-client', { kind: 'client', id: registered.metadata.client_id });
      ctx.status = 201;
      return { ...registered.metadata, ...(registered.clientSecret ? { client_secret: registered.clientSecret } : {}) };
    }
    if (path === '/admin/users' && method === 'GET') return accounts.list().map(publicAccount);
    if (path === '/admin/users' && method === 'POST') {
      const body = await json(ctx);
      const { account, password } = await accounts.create({ username: String(body.username ?? ''), roles: Array.isArray(body.roles) ? body.roles.map(String) : [], ...(typeof body.fhirUser === 'string' ? { fhirUser: body.fhirUser } : {}) });
      await audited('create-user', { kind: 'user', id: account.id });
      ctx.status = 201;
      return { ...publicAccount(account), oneTimePassword: password };
    }
    const one = /^\/admin\/(clients|users)\/([A-Za-z0-9-]{1,64})(?:\/(unlock|reset-mfa))?$/.exec(path);
    if (one) {
      const [, kind, id, action] = one;
      if (kind === 'clients' && method === 'DELETE' && !action) {
        if (!clients.remove(id)) throw new ApiError(404, 'not_found', 'No such client');
        await audited('remove-client', { kind: 'client', id });
        ctx.status = 204;
        return undefined;
      }
      if (kind === 'users' && accounts.findById(id)) {
        if (method === 'DELETE' && !action) accounts.remove(id);
        else if (method === 'POST' && action === 'unlock') accounts.unlock(id);
        else if (method === 'POST' && action === 'reset-mfa') accounts.setTotp(id, undefined);
        else throw new ApiError(405, 'invalid_request', 'Method not allowed');
        await audited(method === 'DELETE' ? 'remove-user' : action === 'unlock' ? 'unlock-user' : 'reset-mfa', { kind: 'user', id });
        ctx.status = 204;
        return undefined;
      }
      throw new ApiError(404, 'not_found', `No such ${kind.slice(0, -1)}`);
    }
    throw new ApiError(404, 'not_found', 'No such endpoint');
  }

  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<unknown> => {
    if (!(ctx.path === '/launch' || ctx.path.startsWith('/admin/'))) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      const body = await route(ctx);
      if (body !== undefined) ctx.body = body;
    } catch (err) {
      const known = err instanceof ApiError ? err : err instanceof RegistrationError || err instanceof AccountError ? new ApiError(400, 'invalid_request', err.message) : undefined;
      if (!known) throw err;
      ctx.status = known.status;
      if (known.status === 401) ctx.set('WWW-Authenticate', `Bearer error="${known.error}"`);
      ctx.body = { error: known.error, error_description: known.message };
    }
    return undefined;
  };
}
