import { createHash, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import { InvalidTokenError, type TokenVerifier } from '../auth/bearer.js';
import { FhirError } from '../fhir/errors.js';
import type { Metrics } from '../metrics/metrics.js';

export interface MetricsRouteOptions {
  metrics: Pick<Metrics, 'exposition'>;
  /** Verifies access tokens: an `admin` may read the metrics. */
  verifyToken: TokenVerifier;
  /** METRICS_TOKEN: a static Bearer token for the Prometheus scraper. */
  token?: string;
  realm: string;
}

/** Whether `given` is the static token, compared in constant time (over digests, so lengths may differ). */
export function isMetricsToken(given: string, token: string | undefined): boolean {
  if (!token) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/**
 * `GET /metrics` on the main port (README "Metrics"): Prometheus text for METRICS_TOKEN or an
 * access token with the `admin` role; anyone else gets 401/403 as an OperationOutcome. Metrics
 * name resource types, ACK codes and volumes, never data, but volumes are still the operator's.
 */
export function metricsRoute(options: MetricsRouteOptions): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const bearer = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(ctx.get('Authorization'))?.[1];
    if (!bearer) {
      ctx.set('WWW-Authenticate', `Bearer realm="${options.realm}"`);
      throw new FhirError('unauthorized', 'The metrics need METRICS_TOKEN or an admin access token');
    }
    if (!isMetricsToken(bearer, options.token)) {
      const principal = await options.verifyToken(bearer).catch((err: unknown) => {
        if (!(err instanceof InvalidTokenError)) throw err;
        ctx.set('WWW-Authenticate', `Bearer realm="${options.realm}", error="invalid_token"`);
        throw new FhirError('unauthorized', err.message);
      });
      if (!principal.roles.includes('admin')) throw new FhirError('forbidden', 'The metrics are for admins (or the METRICS_TOKEN scraper)');
    }
    const { contentType, body } = await options.metrics.exposition();
    ctx.type = contentType;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
  });
  return router;
}
