import type { Middleware } from 'koa';
import type { Metrics } from '../metrics/metrics.js';

/** What a request that never became a FhirRequest is counted as, by its first path segment. */
const EDGES: Readonly<Record<string, string>> = { fhir: 'none', auth: 'auth', '.well-known': 'auth', portal: 'portal', hl7: 'hl7v2', healthz: 'health', readyz: 'health', metrics: 'metrics' };

/**
 * Counts and times every HTTP request once it is answered (outside the error boundary, so the
 * status is the one sent). The FHIR interaction and resource type are those of the FhirRequest
 * the edge built (`ctx.state.fhirInteraction`, set in fhir-request.ts); a request answered before
 * that (401, unknown route) counts as `none`. A resource type not served counts as `unknown`.
 */
export function httpMetrics(metrics: Pick<Metrics, 'httpRequest'>, servedTypes: ReadonlySet<string>): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const interaction = (ctx.state.fhirInteraction as string | undefined) ?? EDGES[ctx.path.split('/')[1]?.toLowerCase() ?? ''] ?? 'other';
      const type = ctx.state.fhirResourceType as string | undefined;
      const resourceType = type === undefined ? '' : servedTypes.has(type) ? type : 'unknown';
      metrics.httpRequest({ interaction, resourceType, status: ctx.status }, (performance.now() - started) / 1000);
    }
  };
}
