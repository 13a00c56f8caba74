import Koa from 'koa';
import type { AuditSink } from '../audit/audit-sink.js';
import type { TokenVerifier } from '../auth/bearer.js';
import type { Exchange } from '../crypto/index.js';
import type { Pipeline } from '../fhir/pipeline.js';
import type { Hl7Adapter } from '../hl7v2/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { StorePort } from '../store/port.js';
import { authenticate } from './authenticate.js';
import { authRoutes, type AuthRoutesOptions } from './auth-routes.js';
import { fhirCors, type OriginPolicy } from './cors.js';
import { atItsPaths } from './edge-paths.js';
import { exchangeEdge, exchangeJwks } from './exchange.js';
import { exportRoutes } from './export-routes.js';
import type { ExportService } from '../export/service.js';
import { fhirRoutes } from './fhir-routes.js';
import { healthRoutes } from './health-routes.js';
import { hl7Routes } from './hl7-routes.js';
import { portalRoutes, type PortalRoutesOptions } from './portal-routes.js';
import { accessLog, errorBoundary, requestId } from './middleware.js';
import { httpMetrics } from './metrics-middleware.js';
import { metricsRoute } from './metrics-routes.js';

export interface HttpAppOptions {
  pipeline: Pipeline;
  store: StorePort;
  logger: Logger;
  fhirBaseUrl: string;
  maxBodyBytes: number;
  /** Verifies Bearer access tokens (SMART resource server). */
  verifyToken: TokenVerifier;
  /** SMART configuration and the embedded authorization server. */
  auth: AuthRoutesOptions;
  /** Encrypted exchange: the JWKS, JWE responses and requests (issue 9). */
  exchange: Exchange;
  /** Browser origins allowed to call `/fhir` (CORS). */
  corsAllows: OriginPolicy;
  /** The patient portal at `/portal/` (issue 21), when the embedded authorization server runs. */
  portal?: PortalRoutesOptions;
  /** The HL7 v2 adapter: `POST /hl7/v2` and the message archive (issue 6). */
  hl7?: Hl7Adapter;
  /** The audit sink, for the doors beside the pipeline (the HL7 v2 archive), written through `withAudit` (issue 16). */
  audit: AuditSink;
  /** Bulk Data `$export` (issue 18): kick-off, status, cancel, download under `/fhir`. */
  exports?: ExportService;
  /** Prometheus metrics (issue 18): recorded for every request; `onMainPort` serves `/metrics` here, protected. */
  metrics?: { metrics: Metrics; servedTypes: ReadonlySet<string>; onMainPort: boolean; token?: string };
}

/** The Koa application: the HTTP edge of FhirGate. Koa is imported nowhere but `http/`. */
export function createHttpApp(options: HttpAppOptions): Koa {
  const app = new Koa();
  // Errors are logged and answered by the boundary; Koa must not print them again.
  app.silent = true;
  const fhir = fhirRoutes(options);
  const health = healthRoutes(options.store);
  app.use(requestId());
  app.use(accessLog(options.logger));
  if (options.metrics) app.use(httpMetrics(options.metrics.metrics, options.metrics.servedTypes));
  const openPaths = ['/fhir/metadata', '/fhir/.well-known/smart-configuration'];
  app.use(fhirCors(options.corsAllows, openPaths));
  app.use(errorBoundary(options.logger));
  app.use(atItsPaths(health));
  if (options.metrics?.onMainPort) app.use(atItsPaths(metricsRoute({ ...options.metrics, verifyToken: options.verifyToken, realm: options.fhirBaseUrl })));
  if (options.portal) app.use(portalRoutes(options.portal));
  app.use(authRoutes(options.auth));
  app.use(exchangeJwks(options.exchange));
  app.use(
    authenticate({
      verify: options.verifyToken,
      realm: options.fhirBaseUrl,
      protectedPrefixes: ['/fhir', '/hl7'],
      openPaths,
    }),
  );
  app.use(exchangeEdge(options));
  if (options.exports) app.use(exportRoutes({ exports: options.exports, fhirBaseUrl: options.fhirBaseUrl, maxBodyBytes: options.maxBodyBytes }));
  app.use(fhir);
  if (options.hl7) app.use(hl7Routes(options.hl7, options.fhirBaseUrl, options.audit).routes());
  return app;
}
