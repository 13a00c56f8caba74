import type { Middleware } from 'koa';
import { InvalidTokenError, type TokenVerifier } from '../auth/bearer.js';
import { FhirError } from '../fhir/errors.js';

export interface AuthenticateOptions {
  verify: TokenVerifier;
  /** `WWW-Authenticate` realm (the FHIR base URL). */
  realm: string;
  /** Path prefixes that need a token. */
  protectedPrefixes: readonly string[];
  /** Paths under those prefixes that stay open (capabilities, SMART configuration). */
  openPaths: readonly string[];
}

/**
 * The resource-server check at the HTTP edge (RFC 6750): every protected request carries
 * `Authorization: Bearer <JWT>`, verified before anything else runs; what the token says is put on
 * `ctx.state.auth` for the request context. Failures answer 401 with `WWW-Authenticate` and an OperationOutcome.
 */
export function authenticate(options: AuthenticateOptions): Middleware {
  const { verify, realm } = options;
  // Case-insensitive, as the router matches: `/FHIR/Patient` is protected like `/fhir/Patient`.
  const isProtected = (raw: string): boolean => {
    const path = raw.toLowerCase();
    return options.protectedPrefixes.some((p) => path === p || path.startsWith(`${p}/`)) && !options.openPaths.includes(path.replace(/\/+$/, ''));
  };
  return async (ctx, next) => {
    if (!isProtected(ctx.path) || ctx.method === 'OPTIONS') return next();
    const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(ctx.get('Authorization'));
    if (!match) {
      ctx.set('WWW-Authenticate', `Bearer realm="${realm}"`);
      throw new FhirError('unauthorized', ctx.get('Authorization') ? 'The Authorization header is not a Bearer token' : 'A Bearer access token is required');
    }
    try {
      ctx.state.auth = await verify(match[1]);
    } catch (err) {
      if (!(err instanceof InvalidTokenError)) throw err;
      ctx.set('WWW-Authenticate', `Bearer realm="${realm}", error="invalid_token", error_description="${err.message}"`);
      throw new FhirError('unauthorized', err.message);
    }
    return next();
  };
}
