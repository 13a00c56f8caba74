import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { FhirError } from '../fhir/errors.js';
import { assertBoundedJson } from '../fhir/limits.js';
import { paramsOf } from '../fhir/params.js';
import { assertJsonBody } from './media.js';

/**
 * Reads and parses a FHIR JSON body, enforcing the size limit before reading more than it
 * (413 from Content-Length at once, or as soon as a chunked body passes the limit).
 * `extraTypes` are media types accepted besides FHIR JSON (JSON Patch for PATCH).
 */
export async function readJsonBody(ctx: Context, maxBytes: number, extraTypes: readonly string[] = []): Promise<unknown> {
  const length = Number(ctx.get('Content-Length') || NaN);
  if (length > maxBytes) throw tooLarge(maxBytes);
  assertJsonBody(ctx, extraTypes);
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit: maxBytes, encoding: 'utf-8', length: Number.isNaN(length) ? undefined : length });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') throw tooLarge(maxBytes);
    throw new FhirError('bad-request', 'The request body could not be read completely');
  }
  if (text.trim() === '') throw new FhirError('bad-request', 'The request body is empty; a FHIR resource is required');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // Name the position only: the parser's message quotes the body, which may hold patient data.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new FhirError('invalid-json', `The body is not valid JSON${position ? ` (error at character ${position})` : ''}`);
  }
  assertBoundedJson(parsed);
  return parsed;
}

/**
 * Reads the form body of `POST [type]/_search` (http.html#search): parameters as name → values.
 * An empty body is fine (all parameters may be in the URL); anything else must be
 * `application/x-www-form-urlencoded`.
 */
export async function readFormBody(ctx: Context, maxBytes: number): Promise<Record<string, string[]>> {
  const length = Number(ctx.get('Content-Length') || NaN);
  if (length > maxBytes) throw tooLarge(maxBytes);
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit: maxBytes, encoding: 'utf-8', length: Number.isNaN(length) ? undefined : length });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') throw tooLarge(maxBytes);
    throw new FhirError('bad-request', 'The request body could not be read completely');
  }
  if (text.length === 0) return {};
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new FhirError('unsupported-media-type', `A search body must be application/x-www-form-urlencoded, not '${ctx.get('Content-Type').slice(0, 60)}'`);
  }
  return paramsOf(new URLSearchParams(text));
}

function tooLarge(maxBytes: number): FhirError {
  return new FhirError('payload-too-large', `The request body exceeds the limit of ${maxBytes} bytes`);
}
