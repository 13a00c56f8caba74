import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { FhirError } from '../fhir/errors.js';
import type { Logger } from '../logger.js';
import { JSON_TYPES, responseType } from './media.js';
import { respondError } from './respond.js';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Gives every request an id (the client's `X-Request-Id` when sane), echoed in the response and every log line. */
export function requestId(): Middleware {
  return (ctx, next) => {
    const given = ctx.get('X-Request-Id');
    ctx.state.requestId = SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    return next();
  };
}

/** One structured line per request: method, path (never the query string, which may hold patient data), status, duration. */
export function accessLog(logger: Logger): Middleware {
  const logged: Middleware = async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      logger.info(
        { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round((performance.now() - started) * 10) / 10 },
        'http request',
      );
    }
  };
  // Checked per request (the level may change at run time); below `info` the request is not wrapped at all (issue 14).
  return (ctx, next) => (logger.isLevelEnabled('info') ? logged(ctx, next) : next());
}

/**
 * The error boundary: whatever goes wrong below becomes an OperationOutcome with the status of its
 * error code. Unknown errors are logged with the request id and answered as a bare 500.
 */
export function errorBoundary(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) throw new FhirError('unknown-route', `No FHIR endpoint at ${ctx.method} ${ctx.path}`);
        // @koa/router answers methods it does not know (TRACE, PROPFIND...) 501 without a body.
        if (ctx.status === 501) throw new FhirError('not-supported', `${ctx.method.slice(0, 20)} is not supported by this server`);
        if (ctx.status === 405) {
          const allow = ctx.response.get('Allow');
          throw new FhirError('method-not-allowed', `${ctx.method} is not allowed here; allowed: ${allow}`, { hints: { allow } });
        }
      }
    } catch (err) {
      respondError(ctx, asFhirError(err, logger, ctx.state.requestId), safeResponseType(ctx));
    }
  };
}

function asFhirError(err: unknown, logger: Logger, requestId: string): FhirError {
  if (err instanceof FhirError) return err;
  const status = (err as { status?: number }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Koa/router client errors (e.g. a malformed percent-encoding): a generic 400, no internals.
    return new FhirError('bad-request', 'The request is malformed');
  }
  logger.error({ err, requestId }, 'unhandled error');
  return new FhirError('internal', `An internal error occurred; reference ${requestId}`);
}

function safeResponseType(ctx: Parameters<Middleware>[0]): string {
  try {
    return responseType(ctx);
  } catch {
    return JSON_TYPES[0];
  }
}
