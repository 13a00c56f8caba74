import type { Context, Middleware, Next } from 'koa';
import { FhirError } from '../fhir/errors.js';
import { bundleInteraction, INTERACTIONS } from '../fhir/interactions/table.js';
import type { Pipeline } from '../fhir/pipeline.js';
import type { FhirRequest } from '../fhir/request.js';
import { createRouter, isMiss, TYPE_NAME, type Route } from '../fhir/routes.js';
import { readFormBody, readJsonBody } from './body.js';
import { toFhirRequest, withFormParams } from './fhir-request.js';
import { JSON_PATCH, responseType } from './media.js';
import { respondResult } from './respond.js';

export interface FhirRoutesOptions {
  pipeline: Pipeline;
  fhirBaseUrl: string;
  maxBodyBytes: number;
}

const PREFIX = '/fhir';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The FHIR RESTful API (http.html#summary) at `/fhir`: the path is resolved by the one router the
 * bundle entries use too (`src/fhir/routes.ts`, from the interaction table); this edge only reads
 * the body and headers, runs the pipeline and writes the response. Paths no FHIR route knows fall
 * through (404 `unknown-route` at the error boundary).
 */
export function fhirRoutes(options: FhirRoutesOptions): Middleware {
  const { pipeline, fhirBaseUrl, maxBodyBytes } = options;
  const resolveRoute = createRouter(INTERACTIONS);
  return async (ctx: Context, next: Next) => {
    if (ctx.path !== PREFIX && !ctx.path.startsWith(`${PREFIX}/`)) return next();
    const segments = segmentsOf(ctx.path.slice(PREFIX.length));
    if (!segments) throw new FhirError('bad-request', 'The request is malformed');
    if (!METHODS.has(ctx.method) && ctx.method !== 'OPTIONS') throw new FhirError('not-supported', `${ctx.method.slice(0, 20)} is not supported by this server`);
    const route = resolveRoute(ctx.method === 'OPTIONS' ? '' : ctx.method, segments, 'http');
    if (isMiss(route)) {
      if (route.miss === 'no-route') return next();
      if (route.miss === 'operation') {
        const where = route.level === 'instance' ? ` on ${ctx.method === 'GET' || ctx.method === 'HEAD' ? route.resourceType.slice(0, 64) : 'an instance'}` : '';
        throw new FhirError('not-supported', `Operation $${route.name.slice(0, 64)} is not supported${where}`);
      }
      const allow = route.allow.join(', ');
      if (ctx.method === 'OPTIONS') {
        ctx.set('Allow', allow);
        ctx.status = 200;
        ctx.body = '';
        return;
      }
      throw new FhirError('method-not-allowed', `${ctx.method} is not allowed on ${ctx.path.slice(0, 200)}; allowed: ${allow}`, { hints: { allow } });
    }
    if (route.compartmentTarget !== undefined && !TYPE_NAME.test(route.compartmentTarget)) throw new FhirError('unknown-route', `No FHIR endpoint at ${ctx.method} ${ctx.path}`);
    const mediaType = responseType(ctx);
    const request = await requestOf(ctx, route, options);
    respondResult(ctx, await pipeline.execute(request), fhirBaseUrl, mediaType);
  };

  async function requestOf(ctx: Context, route: Route, { maxBodyBytes: max }: FhirRoutesOptions): Promise<FhirRequest> {
    // POST search: form parameters merged with the URL's, same results as GET (http.html#search).
    if (ctx.method === 'POST' && route.interaction === 'search-type') {
      const form = await readFormBody(ctx, max);
      return withFormParams(toFhirRequest(ctx, fhirBaseUrl, route.interaction, { resourceType: route.resourceType }), form);
    }
    // A PATCH body is a JSON Patch or a FHIRPath Patch (Parameters) (http.html#patch).
    const body = ['POST', 'PUT', 'PATCH'].includes(ctx.method) ? await readJsonBody(ctx, maxBodyBytes, route.interaction === 'patch' ? [JSON_PATCH] : []) : undefined;
    const interaction = route.interaction === 'transaction' ? bundleInteraction(body) : route.interaction;
    const { interaction: _routed, ...parts } = route;
    return toFhirRequest(ctx, fhirBaseUrl, interaction, { ...parts, ...(body !== undefined ? { body } : {}) });
  }
}

/** Path segments after the base, percent-decoded; undefined for a malformed encoding. */
function segmentsOf(path: string): string[] | undefined {
  try {
    const segments = path.split('/').filter(Boolean);
    return path.includes('%') ? segments.map(decodeURIComponent) : segments;
  } catch {
    return undefined;
  }
}
