import type { Context, Middleware, Next } from 'koa';
import getRawBody from 'raw-body';
import { JOSE_MEDIA_TYPE, type Exchange } from '../crypto/index.js';
import { FhirError } from '../fhir/errors.js';
import type { Pipeline } from '../fhir/pipeline.js';
import { toFhirRequest } from './fhir-request.js';
import { JSON_TYPES, responseType } from './media.js';
import { respondResult } from './respond.js';

/**
 * Encrypted exchange at the HTTP edge (issue 9). The pipeline never sees JWEs: responses are
 * encrypted after it answered, request bodies decrypted before it runs.
 *
 * - `GET /exchange/jwks.json`: FhirGate's public encryption keys (open, like any JWKS).
 * - `GET /fhir/Patient/{id}/$everything` with `Accept: application/jose` and
 *   `FhirGate-Recipient: <id>`: the searchset Bundle as a JWE to that registered recipient.
 * - `POST /fhir` with `Content-Type: application/jose`: a transaction or batch Bundle encrypted to
 *   FhirGate's key, decrypted here and run as the same interaction a plain one is.
 */
export interface ExchangeEdgeOptions {
  exchange: Exchange;
  pipeline: Pipeline;
  fhirBaseUrl: string;
  maxBodyBytes: number;
}

/** The header naming the registered recipient an encrypted response is for. */
export const RECIPIENT_HEADER = 'FhirGate-Recipient';

const EVERYTHING = /^\/fhir\/Patient\/[^/]+\/\$everything\/?$/;
// `application/jose` itself, not `application/jose+json` (the JSON serialization, not produced here).
const JOSE = /(^|,)\s*application\/jose\s*(;|,|$)/i;

/** `GET /exchange/jwks.json`, before authentication: public keys are public. */
export function exchangeJwks(exchange: Exchange): Middleware {
  return (ctx, next) => {
    if (ctx.path !== '/exchange/jwks.json' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.type = 'application/jwk-set+json';
    ctx.body = JSON.stringify(exchange.publicJwks());
  };
}

async function readJose(ctx: Context, maxBytes: number): Promise<string> {
  const length = Number(ctx.get('Content-Length') || NaN);
  if (length > maxBytes) throw new FhirError('payload-too-large', `The request body exceeds the limit of ${maxBytes} bytes`);
  try {
    return await getRawBody(ctx.req, { limit: maxBytes, encoding: 'utf-8', length: Number.isNaN(length) ? undefined : length });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') throw new FhirError('payload-too-large', `The request body exceeds the limit of ${maxBytes} bytes`);
    throw new FhirError('bad-request', 'The request body could not be read completely');
  }
}

/** The JWE paths of the FHIR API, after authentication: authorization is the pipeline's as for any request. */
export function exchangeEdge(options: ExchangeEdgeOptions): Middleware {
  const { exchange, pipeline, fhirBaseUrl, maxBodyBytes } = options;
  const encryptedResponse = async (ctx: Context, next: Next): Promise<void> => {
    const recipient = await exchange.recipient(ctx.get(RECIPIENT_HEADER) || undefined);
    // The FHIR routes answer in FHIR JSON; that answer is what gets encrypted.
    ctx.request.headers.accept = JSON_TYPES[0];
    await next();
    if (ctx.status !== 200 || typeof ctx.body !== 'string') return;
    ctx.body = await exchange.encryptFor(recipient, ctx.body);
    ctx.type = JOSE_MEDIA_TYPE;
    ctx.vary('Accept');
  };
  const encryptedRequest = async (ctx: Context): Promise<void> => {
    const mediaType = responseType(ctx);
    const plaintext = await exchange.decryptInbound(await readJose(ctx, maxBodyBytes));
    let body: unknown;
    try {
      body = JSON.parse(plaintext);
    } catch {
      throw new FhirError('invalid-json', 'The decrypted body is not JSON');
    }
    // As `POST /fhir` in clear (fhir-routes.ts): the Bundle's type says which; the interaction checks the rest.
    const interaction = (body as { type?: unknown } | null)?.type === 'batch' ? 'batch' : 'transaction';
    const request = toFhirRequest(ctx, fhirBaseUrl, interaction, { body });
    respondResult(ctx, await pipeline.execute(request), fhirBaseUrl, mediaType);
  };
  // Plain FHIR requests go on without entering either async handler (issue 14).
  return (ctx, next) => {
    if (ctx.method === 'GET' && EVERYTHING.test(ctx.path) && JOSE.test(ctx.get('Accept'))) return encryptedResponse(ctx, next);
    if (ctx.method === 'POST' && /^\/fhir\/?$/.test(ctx.path) && ctx.is(JOSE_MEDIA_TYPE)) return encryptedRequest(ctx);
    return next();
  };
}
