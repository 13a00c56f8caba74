import type { Context } from 'koa';
import { FhirError } from '../fhir/errors.js';
import { paramsOf } from '../fhir/params.js';
import type { FhirRequest, Interaction, PreferHandling, PreferReturn, RequestContext } from '../fhir/request.js';
import { searchParamsOf } from './query.js';

// Handled at the edge, never passed to interactions (http.html#parameters).
const EDGE_PARAMS = new Set(['_format', '_pretty']);

/** Query parameters as name → every value, in order. */
export function queryParams(ctx: Context): Record<string, string[]> {
  // A read by id has no query at all.
  if (!ctx.querystring) return {};
  return paramsOf(searchParamsOf(ctx), (name) => !EDGE_PARAMS.has(name));
}

/** Adds the parameters of a `POST _search` form body to those of the URL (http.html#search): both apply. */
export function withFormParams(request: FhirRequest, form: Record<string, string[]>): FhirRequest {
  const params: Record<string, string[]> = { ...request.params };
  for (const [name, values] of Object.entries(form)) {
    if (!EDGE_PARAMS.has(name)) params[name] = [...(Object.hasOwn(params, name) ? params[name] : []), ...values];
  }
  return { ...request, params };
}

/** `Prefer: return=...` (http.html#ops); other preferences are ignored here. */
export function preferReturn(ctx: Context): PreferReturn | undefined {
  const match = /(?:^|[;,\s])return\s*=\s*"?(minimal|representation|OperationOutcome)"?/i.exec(header(ctx, 'prefer') ?? '');
  if (!match) return undefined;
  const value = match[1].toLowerCase();
  return value === 'minimal' ? 'minimal' : value === 'operationoutcome' ? 'OperationOutcome' : 'representation';
}

/** `Prefer: handling=strict|lenient` (search.html#errors). */
export function preferHandling(ctx: Context): PreferHandling | undefined {
  const match = /(?:^|[;,\s])handling\s*=\s*"?(strict|lenient)"?/i.exec(header(ctx, 'prefer') ?? '');
  return match ? (match[1].toLowerCase() as PreferHandling) : undefined;
}

/** Who is asking. Anonymous until SMART authorization fills actor, scopes and patient from the token. */
export function requestContext(ctx: Context, baseUrl: string): RequestContext {
  return {
    requestId: ctx.state.requestId,
    baseUrl,
    scopes: [],
    source: ctx.ip,
    // What the verified Bearer token says (src/http/authenticate.ts); absent on open endpoints.
    ...ctx.state.auth,
    // v3 PurposeOfUse codes from the token and the `X-Purpose-Of-Use` header (issue 8: consent, break-glass).
    purposeOfUse: purposesOf((ctx.state.auth?.purposeOfUse as readonly string[] | undefined) ?? [], purposeHeader(ctx)),
  };
}

/** The token's and the header's purposes, each once; usually neither names any. */
function purposesOf(token: readonly string[], header: readonly string[]): string[] {
  return token.length === 0 && header.length === 0 ? [] : [...new Set([...token, ...header])];
}

function purposeHeader(ctx: Context): string[] {
  const raw = header(ctx, 'x-purpose-of-use');
  if (!raw) return [];
  return raw.split(',').map((v) => v.trim().replace(/^.*\|/, '')).filter(Boolean);
}

/**
 * A request header as Node parsed it (name in lower case), undefined when absent or empty: what
 * `ctx.get` answers, without its two delegations and lower-casing on each of the request's many
 * header reads (issue 14).
 */
function header(ctx: Context, name: Lowercase<string>): string | undefined {
  const value = ctx.req.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Builds the framework-free FhirRequest the pipeline executes. */
export function toFhirRequest(
  ctx: Context,
  baseUrl: string,
  interaction: Interaction,
  parts: { resourceType?: string; id?: string; versionId?: string; body?: unknown; compartmentTarget?: string } = {},
): FhirRequest {
  // For the metrics recorded at the edge (metrics-middleware.ts).
  ctx.state.fhirInteraction = interaction;
  ctx.state.fhirResourceType = parts.resourceType;
  if (parts.resourceType !== undefined && !/^[A-Z][A-Za-z]{0,63}$/.test(parts.resourceType)) {
    throw new FhirError('unknown-type', `'${parts.resourceType.slice(0, 64)}' is not a resource type`);
  }
  return {
    interaction,
    ...parts,
    params: queryParams(ctx),
    ifMatch: header(ctx, 'if-match'),
    ifNoneMatch: header(ctx, 'if-none-match'),
    ifModifiedSince: header(ctx, 'if-modified-since'),
    ifNoneExist: header(ctx, 'if-none-exist'),
    preferReturn: preferReturn(ctx),
    preferHandling: preferHandling(ctx),
    context: requestContext(ctx, baseUrl),
  };
}
