import Koa from 'koa';
import type { TokenVerifier } from '../auth/bearer.js';
import type { Pipeline } from '../fhir/pipeline.js';
import type { Logger } from '../logger.js';
import type { StorePort } from '../store/port.js';
import { authenticate } from './authenticate.js';
import { fhirRoutes } from './fhir-routes.js';
import { healthRoutes } from './health-routes.js';
import { accessLog, errorBoundary, requestId } from './middleware.js';

export interface HttpAppOptions {
  pipeline: Pipeline;
  store: StorePort;
  logger: Logger;
  fhirBaseUrl: string;
  maxBodyBytes: number;
  /** Verifies Bearer access tokens (SMART resource server). */
  verifyToken: TokenVerifier;
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
  app.use(errorBoundary(options.logger));
  app.use(health.routes());
  app.use(
    authenticate({
      verify: options.verifyToken,
      realm: options.fhirBaseUrl,
      protectedPrefixes: ['/fhir', '/hl7'],
      openPaths: ['/fhir/metadata', '/fhir/.well-known/smart-configuration'],
    }),
  );
  app.use(fhir.routes());
  app.use(fhir.allowedMethods());
  return app;
}
