import cors from '@koa/cors';
import type { Middleware } from 'koa';

/** Which browser origins may call the FHIR API (decided by the auth module: configured, or the registered apps'). */
export type OriginPolicy = (origin: string) => boolean;

// Request headers a SMART app sends: the token, FHIR's conditional and preference headers (http.html),
// purpose of use (consent gate) and the request id echoed in logs.
const ALLOW_HEADERS = ['Authorization', 'Accept', 'Content-Type', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'If-None-Exist', 'Prefer', 'X-Request-Id', 'X-Purpose-Of-Use'];
// Response headers a script may read beyond the CORS-safelisted ones: versioning and created locations
// (http.html#versioning), the request id, and why a token was refused.
const EXPOSE_HEADERS = ['ETag', 'Location', 'Content-Location', 'Last-Modified', 'X-Request-Id', 'WWW-Authenticate', 'Retry-After', 'X-Progress'];

/**
 * CORS for the FHIR API (Fetch standard, `/fhir` and below): an allowed origin gets its
 * `Access-Control-Allow-Origin`, a preflight is answered with 204 before authentication (it carries
 * no token), and the FHIR headers are allowed and exposed. Tokens travel in `Authorization`, never
 * cookies, so credentials are not allowed. Other origins get no CORS headers: the browser blocks them.
 */
export function fhirCors(allowed: OriginPolicy, openPaths: readonly string[] = []): Middleware {
  const handle = cors({
    origin: (ctx) => {
      const origin = ctx.get('Origin');
      // Discovery (CapabilityStatement, SMART configuration) is public: any app may find the server.
      return origin && (openPaths.includes(ctx.path) || allowed(origin)) ? origin : '';
    },
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ALLOW_HEADERS,
    exposeHeaders: EXPOSE_HEADERS,
    maxAge: 600,
    keepHeadersOnError: true,
  });
  return (ctx, next) => {
    if (ctx.path !== '/fhir' && !ctx.path.startsWith('/fhir/')) return next();
    // No Origin, no CORS: what @koa/cors does then (Vary: Origin and nothing else), without its awaits (issue 14).
    if (!ctx.get('Origin')) {
      ctx.vary('Origin');
      return next();
    }
    return handle(ctx, next);
  };
}
