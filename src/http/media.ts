import type { Context } from 'koa';
import { FhirError } from '../fhir/errors.js';

/** JSON media types FhirGate reads and writes (http.html#mime); the first is the default. */
export const JSON_TYPES = ['application/fhir+json', 'application/json', 'application/json+fhir'] as const;

// `_format` short forms and full types that mean JSON (http.html#format).
const FORMAT_JSON = new Set(['json', ...JSON_TYPES]);

/**
 * Chooses the response media type from `_format` (which wins) or `Accept`;
 * 406 when the client only accepts formats FhirGate does not produce (e.g. XML).
 */
export function responseType(ctx: Context): string {
  const format = ctx.URL.searchParams.get('_format');
  if (format !== null) {
    const wanted = format.split(';')[0].trim().toLowerCase();
    if (!FORMAT_JSON.has(wanted)) throw new FhirError('not-acceptable', `_format '${format.slice(0, 40)}' is not supported; this server speaks application/fhir+json`);
    return wanted === 'application/json' ? 'application/json' : JSON_TYPES[0];
  }
  const accepted = ctx.accepts(...JSON_TYPES);
  if (accepted === false) throw new FhirError('not-acceptable', 'None of the Accept media types is supported; this server speaks application/fhir+json');
  return accepted === 'application/json' ? 'application/json' : JSON_TYPES[0];
}

/** The JSON Patch media type (RFC 6902), accepted for PATCH besides FHIR JSON. */
export const JSON_PATCH = 'application/json-patch+json';

/** 415 unless the request body is declared as FHIR JSON (or one of `extra`, e.g. JSON Patch) in UTF-8. */
export function assertJsonBody(ctx: Context, extra: readonly string[] = []): void {
  const declared = ctx.get('Content-Type');
  if (!declared) throw new FhirError('unsupported-media-type', `A Content-Type is required; use ${JSON_TYPES[0]}`);
  if (!ctx.is(...JSON_TYPES, ...extra)) {
    throw new FhirError('unsupported-media-type', `Content-Type '${declared.slice(0, 60)}' is not supported; use ${JSON_TYPES[0]}`);
  }
  const charset = /charset=([^;]+)/i.exec(declared)?.[1]?.trim().replace(/"/g, '').toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw new FhirError('unsupported-media-type', `charset '${charset.slice(0, 20)}' is not supported; FHIR JSON is UTF-8`);
  }
}
