import Router from '@koa/router';
import type { Context } from 'koa';
import { FhirError } from '../fhir/errors.js';
import { INSTANCE_OPERATIONS, INSTANCE_POST_OPERATIONS, TYPE_OPERATIONS } from '../fhir/interactions/index.js';
import type { Pipeline } from '../fhir/pipeline.js';
import type { Interaction } from '../fhir/request.js';
import { readFormBody, readJsonBody } from './body.js';
import { toFhirRequest, withFormParams } from './fhir-request.js';
import { JSON_PATCH, responseType } from './media.js';
import { respondResult } from './respond.js';

export interface FhirRoutesOptions {
  pipeline: Pipeline;
  fhirBaseUrl: string;
  maxBodyBytes: number;
}

/**
 * The FHIR RESTful API's URL patterns (http.html#summary) mapped onto pipeline interactions.
 * Routes are generic over the resource type; the registry decides which types exist.
 */
export function fhirRoutes(options: FhirRoutesOptions): Router {
  const { pipeline, fhirBaseUrl, maxBodyBytes } = options;
  const router = new Router({ prefix: '/fhir' });

  const run = async (ctx: Context, interaction: Interaction, withBody = false): Promise<void> => {
    const mediaType = responseType(ctx);
    const { type, id, vid } = ctx.params as Record<string, string | undefined>;
    // A PATCH body is a JSON Patch or a FHIRPath Patch (Parameters) (http.html#patch).
    const body = withBody ? await readJsonBody(ctx, maxBodyBytes, interaction === 'patch' ? [JSON_PATCH] : []) : undefined;
    const request = toFhirRequest(ctx, fhirBaseUrl, interaction, { resourceType: type, id, versionId: vid, body });
    respondResult(ctx, await pipeline.execute(request), fhirBaseUrl, mediaType);
  };

  // batch / transaction (http.html#transaction): the Bundle's type says which.
  router.post('/', async (ctx) => {
    const mediaType = responseType(ctx);
    const body = await readJsonBody(ctx, maxBodyBytes);
    const interaction = (body as { type?: unknown } | null)?.type === 'batch' ? 'batch' : 'transaction';
    respondResult(ctx, await pipeline.execute(toFhirRequest(ctx, fhirBaseUrl, interaction, { body })), fhirBaseUrl, mediaType);
  });
  router.get('/metadata', (ctx) => run(ctx, 'capabilities'));
  router.get('/_history', (ctx) => run(ctx, 'history-system'));
  router.get('/:type', (ctx) => run(ctx, 'search-type'));
  router.get('/:type/_history', (ctx) => run(ctx, 'history-type'));
  router.post('/:type', (ctx) => run(ctx, 'create', true));
  // POST search: form parameters merged with the URL's, same results as GET (http.html#search).
  router.post('/:type/_search', async (ctx) => {
    const mediaType = responseType(ctx);
    const form = await readFormBody(ctx, maxBodyBytes);
    const request = withFormParams(toFhirRequest(ctx, fhirBaseUrl, 'search-type', { resourceType: ctx.params.type }), form);
    respondResult(ctx, await pipeline.execute(request), fhirBaseUrl, mediaType);
  });
  router.post('/:type/:operation', async (ctx) => {
    const { operation } = ctx.params;
    const op = operation.startsWith('$') ? TYPE_OPERATIONS[operation.slice(1)] : undefined;
    if (op?.types && !op.types.includes(ctx.params.type)) throw new FhirError('not-supported', `Operation ${operation.slice(0, 64)} is not supported on ${ctx.params.type.slice(0, 64)}`);
    if (!op) {
      if (operation.startsWith('$')) throw new FhirError('not-supported', `Operation ${operation.slice(0, 64)} is not supported`);
      throw new FhirError('method-not-allowed', 'POST is not allowed on a resource instance; use PUT to update', { hints: { allow: 'GET, HEAD, PUT, DELETE' } });
    }
    await run(ctx, op.interaction, true);
  });
  // Conditional update, patch and delete: no id, the query holds the criteria (http.html#cond-update).
  router.put('/:type', (ctx) => run(ctx, 'update', true));
  router.patch('/:type', (ctx) => run(ctx, 'patch', true));
  router.delete('/:type', (ctx) => run(ctx, 'delete'));
  router.get('/:type/:id', async (ctx) => {
    // `GET [type]/$op` of operations that change nothing (reports, issue 18); ids never start with `$`.
    const op = ctx.params.id.startsWith('$') ? TYPE_OPERATIONS[ctx.params.id.slice(1)] : undefined;
    if (!op?.get) return run(ctx, 'read');
    if (op.types && !op.types.includes(ctx.params.type)) throw new FhirError('not-supported', `Operation ${ctx.params.id.slice(0, 64)} is not supported on ${ctx.params.type.slice(0, 64)}`);
    const mediaType = responseType(ctx);
    respondResult(ctx, await pipeline.execute(toFhirRequest(ctx, fhirBaseUrl, op.interaction, { resourceType: ctx.params.type })), fhirBaseUrl, mediaType);
  });
  router.put('/:type/:id', (ctx) => run(ctx, 'update', true));
  router.patch('/:type/:id', (ctx) => run(ctx, 'patch', true));
  router.delete('/:type/:id', (ctx) => run(ctx, 'delete'));
  router.get('/:type/:id/_history', (ctx) => run(ctx, 'history-instance'));
  router.get('/:type/:id/_history/:vid', (ctx) => run(ctx, 'vread'));
  // `POST [type]/[id]/$op`: instance operations with a body ($validate of that instance).
  router.post('/:type/:id/:operation', async (ctx) => {
    const { operation } = ctx.params;
    const op = operation.startsWith('$') ? INSTANCE_POST_OPERATIONS[operation.slice(1)] : undefined;
    if (!op) {
      if (operation.startsWith('$')) throw new FhirError('not-supported', `Operation ${operation.slice(0, 64)} is not supported on an instance`);
      throw new FhirError('method-not-allowed', `POST is not allowed on ${ctx.path.slice(0, 200)}`, { hints: { allow: 'GET, HEAD' } });
    }
    await run(ctx, op.interaction, true);
  });
  // `[type]/[id]/$op` (instance operations) and `Patient/[id]/[type]` (compartment search).
  router.get('/:type/:id/:target', async (ctx) => {
    const { type, id, target } = ctx.params;
    if (target.startsWith('$')) {
      const op = INSTANCE_OPERATIONS[target.slice(1)];
      if (!op || !op.types.includes(type)) throw new FhirError('not-supported', `Operation ${target.slice(0, 64)} is not supported on ${type.slice(0, 64)}`);
      await run(ctx, op.interaction);
      return;
    }
    if (!/^[A-Z][A-Za-z]{0,63}$/.test(target)) throw new FhirError('unknown-route', `No FHIR endpoint at ${ctx.method} ${ctx.path}`);
    const mediaType = responseType(ctx);
    const request = toFhirRequest(ctx, fhirBaseUrl, 'search-compartment', { resourceType: type, id, compartmentTarget: target });
    respondResult(ctx, await pipeline.execute(request), fhirBaseUrl, mediaType);
  });
  return router;
}
