import type { KoaContextWithOIDC } from 'oidc-provider';
import { adminEventOf, type AdminAction, type AdminActionCode } from '../../audit/admin-event.js';
import type { AuditSink } from '../../audit/audit-sink.js';
import { withAudit } from '../../audit/with-audit.js';
import { FhirError } from '../../fhir/errors.js';
import { InvalidTokenError, type Principal, type TokenVerifier } from '../bearer.js';
import { AccountError, type Account, type AccountStore } from './accounts.js';
import { RegistrationError, type ClientRegistration, type ClientStore } from './clients.js';
import type { LaunchContexts } from './launch-context.js';
import { readText } from './request-body.js';

export interface AdminApiDeps {
  verify: TokenVerifier;
  accounts: AccountStore;
  clients: ClientStore;
  launches: LaunchContexts;
  /** Every request to the API, done or refused, is recorded through the one audit writer (issues 15, 16). */
  audit: AuditSink;
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

type Target = NonNullable<AdminAction['target']>;

/** What an action answers, and what it acted on when the path did not say (a created user or client). */
interface Answer {
  status: number;
  body?: unknown;
  target?: Target;
}

/** One endpoint: the action it is (for its AuditEvent), who may call it, and what it does. */
interface Route {
  action: AdminActionCode;
  roles: readonly string[];
  /** What the path names. */
  target?: Target;
  run(ctx: KoaContextWithOIDC): Promise<Answer>;
}

const LAUNCHING_ROLES = ['practitioner', 'pharmacist', 'receptionist'];
const ADMIN = ['admin'];

function publicAccount(a: Account) {
  return { id: a.id, username: a.username, roles: a.roles, fhirUser: a.fhirUser, mfa: a.totp?.confirmed === true, locked: Boolean(a.lockedUntil && Date.parse(a.lockedUntil) > Date.now()), mustChangePassword: a.mustChangePassword === true };
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

/** The API's answer to what an action threw (the stores' validation errors are the client's); undefined for anything else. */
function apiErrorOf(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof RegistrationError || err instanceof AccountError) return new ApiError(400, 'invalid_request', err.message);
  return undefined;
}

/**
 * JSON API of the embedded server, with the same Bearer tokens as the FHIR API:
 * `POST /launch` (an EHR user starts an EHR launch for a patient), and for admins
 * `/admin/clients` (register, list, remove OAuth clients) and `/admin/users` (create with a
 * one-time password, list, unlock, reset MFA, remove).
 *
 * Each request with a verified token is one AuditEvent, done or refused (a token without the role
 * is `403` and recorded so), written by the one audit writer (`withAudit`) around the action, never
 * by the action itself (issue 16). A request without a valid token is answered `401` unrecorded,
 * as the FHIR API's Bearer check does.
 */
export function adminApi(deps: AdminApiDeps) {
  const { accounts, clients, launches } = deps;

  async function launch(ctx: KoaContextWithOIDC): Promise<Answer> {
    const patient = (await json(ctx)).patient;
    if (typeof patient !== 'string' || !/^[A-Za-z0-9.-]{1,64}$/.test(patient)) throw new ApiError(400, 'invalid_request', 'patient must be a Patient id');
    return { status: 201, body: { launch: launches.createLaunch({ patient }) }, target: { kind: 'patient', id: patient } };
  }

  async function registerClient(ctx: KoaContextWithOIDC): Promise<Answer> {
    const body = await json(ctx);
    // A backend client acts without a user, with system/ scopes: an admin token registering one would
    // grant its holder clinical access the admin role does not have (issue 15). Only the server's CLI does.
    if (body.kind === 'backend') {
      throw new ApiError(403, 'insufficient_scope', 'Backend clients (system/ scopes) are registered on the server with `npm run auth -- clients add --kind backend`, not through the admin API');
    }
    const registered = clients.register(body as unknown as ClientRegistration);
    return { status: 201, body: { ...registered.metadata, ...(registered.clientSecret ? { client_secret: registered.clientSecret } : {}) }, target: { kind: 'client', id: registered.metadata.client_id } };
  }

  async function createUser(ctx: KoaContextWithOIDC): Promise<Answer> {
    const body = await json(ctx);
    const { account, password } = await accounts.create({ username: String(body.username ?? ''), roles: Array.isArray(body.roles) ? body.roles.map(String) : [], ...(typeof body.fhirUser === 'string' ? { fhirUser: body.fhirUser } : {}) });
    return { status: 201, body: { ...publicAccount(account), oneTimePassword: password }, target: { kind: 'user', id: account.id } };
  }

  /** An action on one existing account. */
  const onUser = (id: string, act: () => void) => async (): Promise<Answer> => {
    if (!accounts.findById(id)) throw new ApiError(404, 'not_found', 'No such user');
    act();
    return { status: 204 };
  };

  /** The endpoint of a request; `undefined` for none (throws `405` when the path is one but not the method). */
  function resolve(method: string, path: string): Route | undefined {
    if (path === '/launch') return method === 'POST' ? { action: 'create-launch', roles: LAUNCHING_ROLES, run: launch } : undefined;
    if (path === '/admin/clients' && method === 'GET') return { action: 'list-clients', roles: ADMIN, run: async () => ({ status: 200, body: clients.list().map(({ client_secret, ...rest }) => rest) }) };
    if (path === '/admin/clients' && method === 'POST') return { action: 'register-client', roles: ADMIN, run: registerClient };
    if (path === '/admin/users' && method === 'GET') return { action: 'list-users', roles: ADMIN, run: async () => ({ status: 200, body: accounts.list().map(publicAccount) }) };
    if (path === '/admin/users' && method === 'POST') return { action: 'create-user', roles: ADMIN, run: createUser };
    const one = /^\/admin\/(clients|users)\/([A-Za-z0-9-]{1,64})(?:\/(unlock|reset-mfa))?$/.exec(path);
    if (!one) return undefined;
    const [, kind, id, verb] = one;
    const request = `${method} ${verb ?? ''}`.trim();
    if (kind === 'clients') {
      if (request !== 'DELETE') throw new ApiError(405, 'invalid_request', 'Method not allowed');
      const run = async (): Promise<Answer> => {
        if (!clients.remove(id)) throw new ApiError(404, 'not_found', 'No such client');
        return { status: 204 };
      };
      return { action: 'remove-client', roles: ADMIN, target: { kind: 'client', id }, run };
    }
    const target: Target = { kind: 'user', id };
    if (request === 'DELETE') return { action: 'remove-user', roles: ADMIN, target, run: onUser(id, () => accounts.remove(id)) };
    if (request === 'POST unlock') return { action: 'unlock-user', roles: ADMIN, target, run: onUser(id, () => accounts.unlock(id)) };
    if (request === 'POST reset-mfa') return { action: 'reset-mfa', roles: ADMIN, target, run: onUser(id, () => accounts.setTotp(id, undefined)) };
    throw new ApiError(405, 'invalid_request', 'Method not allowed');
  }

  async function principal(ctx: KoaContextWithOIDC): Promise<Principal> {
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(ctx.get('Authorization'));
    if (!match) throw new ApiError(401, 'invalid_token', 'A Bearer access token is required');
    try {
      return await deps.verify(match[1]);
    } catch (err) {
      if (err instanceof InvalidTokenError) throw new ApiError(401, 'invalid_token', err.message);
      throw err;
    }
  }

  /** Runs a route under the audit writer: its one AuditEvent names the caller, the action, what it acted on and how it ended. */
  async function audited(ctx: KoaContextWithOIDC, route: Route, who: Principal): Promise<Answer> {
    const caller = { ...who, source: ctx.ip };
    const requestId = ctx.get('X-Request-Id') || undefined;
    const eventOf = (target: Target | undefined, failure?: AdminAction['failure']) => adminEventOf({ action: route.action, caller, ...(target ? { target } : {}), ...(requestId ? { requestId } : {}), ...(failure ? { failure } : {}) });
    let done = false;
    try {
      return await withAudit<Answer>(
        deps.audit,
        (ended) => {
          done = ended.ok;
          if (ended.ok) return { event: eventOf(ended.value.target ?? route.target) };
          const known = apiErrorOf(ended.error);
          return { event: eventOf(route.target, known ? { code: known.error, server: known.status >= 500 } : { code: 'server_error', server: true }) };
        },
        async () => {
          if (!who.roles.some((r) => route.roles.includes(r))) throw new ApiError(403, 'insufficient_scope', `Requires the role ${route.roles.join(' or ')}`);
          try {
            return await route.run(ctx);
          } catch (err) {
            throw apiErrorOf(err) ?? err;
          }
        },
      );
    } catch (err) {
      // The sink's error when the record cannot be written: what was done stays done, and is answered so.
      if (err instanceof FhirError && err.code === 'store-unavailable') {
        throw new ApiError(503, 'temporarily_unavailable', `The ${route.action} was ${done ? 'done' : 'not done'} and could not be recorded in the audit trail`);
      }
      throw err;
    }
  }

  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<unknown> => {
    if (!(ctx.path === '/launch' || ctx.path.startsWith('/admin/'))) return next();
    ctx.set('Cache-Control', 'no-store');
    try {
      const who = await principal(ctx);
      const route = resolve(ctx.method, ctx.path);
      if (!route) throw new ApiError(404, 'not_found', 'No such endpoint');
      const answer = await audited(ctx, route, who);
      ctx.status = answer.status;
      if (answer.body !== undefined) ctx.body = answer.body;
    } catch (err) {
      const known = apiErrorOf(err);
      if (!known) throw err;
      ctx.status = known.status;
      if (known.status === 401) ctx.set('WWW-Authenticate', `Bearer error="${known.error}"`);
      ctx.body = { error: known.error, error_description: known.message };
    }
    return undefined;
  };
}
