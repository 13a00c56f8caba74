import type { Context } from 'koa';
import { boundedMemo } from '../bounded-memo.js';
import { FhirError } from '../fhir/errors.js';
import { searchParamsOf } from './query.js';

/** JSON media types FhirGate reads and writes (http.html#mime); the first is the default. */
export const JSON_TYPES = ['application/fhir+json', 'application/json', 'application/json+fhir'] as const;

/** The FHIR version this server speaks, as the `fhirVersion` media-type parameter names it (versioning.html#mt-version). */
export const FHIR_VERSION = '4.0';

// `_format` short forms and full types that mean JSON (http.html#format).
const FORMAT_JSON = new Set(['json', ...JSON_TYPES]);

/** One media range of an `Accept` header: type, parameters (names lower-cased), quality. */
export interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

/**
 * Parses an `Accept` header (RFC 9110 §12.5.1) keeping the parameters. Koa's `accepts` (negotiator)
 * refuses a range whose parameters the offered type lacks, so `application/fhir+json; fhirVersion=4.0`
 * and `application/json; charset=utf-8` were 406; here parameters are read, not matched.
 */
export function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [rawType, ...rawParams] = part.split(';');
    const type = rawType.trim().toLowerCase();
    if (!/^[a-z0-9!#$&^_.+*-]+\/[a-z0-9!#$&^_.+*-]+$/.test(type)) continue;
    const params: Record<string, string> = {};
    for (const p of rawParams) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    }
    const q = params.q === undefined ? 1 : Number(params.q);
    delete params.q;
    ranges.push({ type, params, q: Number.isFinite(q) ? Math.min(Math.max(q, 0), 1) : 1 });
  }
  return ranges;
}

/** Whether a `fhirVersion` parameter (absent, `4.0`, `4.0.1`) names the version this server speaks. */
export function isOurFhirVersion(version: string | undefined): boolean {
  return version === undefined || version === FHIR_VERSION || version.startsWith(`${FHIR_VERSION}.`);
}

/** Whether `charset` (absent or UTF-8) is one FhirGate writes. */
function isUtf8(charset: string | undefined): boolean {
  return charset === undefined || ['utf-8', 'utf8'].includes(charset.toLowerCase());
}

/**
 * The JSON type to answer with for an `Accept` header, or undefined when no acceptable range is one
 * FhirGate produces. A range is acceptable with q > 0, a JSON type (or a wildcard covering one), no
 * other FHIR version and UTF-8; the most preferred wins, then the most specific, then header order.
 */
export function negotiate(header: string): string | undefined {
  const candidates = parseAccept(header)
    .map((range, order) => ({ ...range, order, offered: offered(range) }))
    .filter((r) => r.q > 0 && r.offered !== undefined && isOurFhirVersion(r.params.fhirversion) && isUtf8(r.params.charset));
  candidates.sort((a, b) => b.q - a.q || specificity(b.type) - specificity(a.type) || a.order - b.order);
  const best = candidates[0]?.offered;
  return best === undefined ? undefined : best === 'application/json' ? 'application/json' : JSON_TYPES[0];
}

// Clients send the same few Accept headers on every request: each is parsed once (issue 14).
// Bounded in entries and length, since the header is the client's to choose.
const NEGOTIATED_MAX_LENGTH = 256;
const negotiatedShort = boundedMemo(negotiate, 256);

function negotiated(header: string): string | undefined {
  return header.length > NEGOTIATED_MAX_LENGTH ? negotiate(header) : negotiatedShort(header);
}

function offered(range: MediaRange): string | undefined {
  if ((JSON_TYPES as readonly string[]).includes(range.type)) return range.type;
  if (range.type === '*/*' || range.type === 'application/*') return JSON_TYPES[0];
  return undefined;
}

const specificity = (type: string): number => (type === '*/*' ? 0 : type.endsWith('/*') ? 1 : 2);

/**
 * Chooses the response media type from `_format` (which wins) or `Accept`; 406 when the client
 * accepts only formats FhirGate does not produce (e.g. XML) or only another FHIR version.
 */
export function responseType(ctx: Context): string {
  const format = searchParamsOf(ctx).get('_format');
  if (format !== null) {
    const [wanted, ...rest] = format.split(';');
    const type = wanted.trim().toLowerCase();
    const version = rest.map((p) => /^\s*fhirVersion\s*=\s*"?([^"]*)"?\s*$/i.exec(p)?.[1]).find((v) => v !== undefined);
    if (!FORMAT_JSON.has(type)) throw new FhirError('not-acceptable', `_format '${format.slice(0, 40)}' is not supported; this server speaks application/fhir+json`);
    if (!isOurFhirVersion(version)) throw new FhirError('not-acceptable', `FHIR version '${version!.slice(0, 20)}' is not supported; this server speaks FHIR ${FHIR_VERSION} (R4)`);
    return type === 'application/json' ? 'application/json' : JSON_TYPES[0];
  }
  const accept = ctx.get('Accept');
  if (!accept.trim()) return JSON_TYPES[0];
  const chosen = negotiated(accept);
  if (chosen) return chosen;
  const otherVersion = parseAccept(accept).find((r) => !isOurFhirVersion(r.params.fhirversion))?.params.fhirversion;
  if (otherVersion !== undefined) throw new FhirError('not-acceptable', `FHIR version '${otherVersion.slice(0, 20)}' is not supported; this server speaks FHIR ${FHIR_VERSION} (R4)`);
  throw new FhirError('not-acceptable', 'None of the Accept media types is supported; this server speaks application/fhir+json');
}

/** The JSON Patch media type (RFC 6902), accepted for PATCH besides FHIR JSON. */
export const JSON_PATCH = 'application/json-patch+json';

/**
 * 415 unless the request body is declared as FHIR JSON (or one of `extra`, e.g. JSON Patch) in UTF-8;
 * a `fhirVersion` parameter other than R4's is refused too.
 */
export function assertJsonBody(ctx: Context, extra: readonly string[] = []): void {
  const declared = ctx.get('Content-Type');
  if (!declared) throw new FhirError('unsupported-media-type', `A Content-Type is required; use ${JSON_TYPES[0]}`);
  if (!ctx.is(...JSON_TYPES, ...extra)) {
    throw new FhirError('unsupported-media-type', `Content-Type '${declared.slice(0, 60)}' is not supported; use ${JSON_TYPES[0]}`);
  }
  const [range] = parseAccept(declared);
  const charset = range?.params.charset?.toLowerCase();
  if (!isUtf8(charset)) {
    throw new FhirError('unsupported-media-type', `charset '${charset!.slice(0, 20)}' is not supported; FHIR JSON is UTF-8`);
  }
  if (!isOurFhirVersion(range?.params.fhirversion)) {
    throw new FhirError('unsupported-media-type', `FHIR version '${range!.params.fhirversion.slice(0, 20)}' is not supported; this server speaks FHIR ${FHIR_VERSION} (R4)`);
  }
}
