import type { Context } from 'koa';
import type { Resource } from '@medplum/fhirtypes';
import { etagOf } from '../fhir/preconditions.js';
import type { FhirError } from '../fhir/errors.js';
import { toJson } from '../fhir/json-text.js';
import type { FhirResult } from '../fhir/request.js';
import { HTTP_STATUS, RESULT_STATUS } from './status.js';
import { searchParamsOf } from './query.js';

/** Serializes a resource in the negotiated JSON type, pretty-printed on `_pretty=true`. */
function send(ctx: Context, status: number, resource: Resource | undefined, mediaType: string): void {
  ctx.status = status;
  if (resource === undefined || status === 304) {
    // `Prefer: return=minimal`: an empty body (Koa would otherwise send the status text).
    ctx.body = '';
    ctx.remove('Content-Type');
    return;
  }
  const pretty = searchParamsOf(ctx).get('_pretty') === 'true';
  resource = withoutEmptyEntry(resource);
  // Set as is: `ctx.type =` would look the full type up as a file extension or MIME name first.
  ctx.set('Content-Type', `${mediaType}; charset=utf-8`);
  // A search page's resources were serialized once already, as they were counted (src/fhir/json-text.ts).
  ctx.body = pretty ? JSON.stringify(resource, null, 2) : toJson(resource);
}

/**
 * A Bundle without entries has no `entry` at all: in FHIR JSON an array is never empty
 * (json.html#arrays). Search, history and batch results build their entry list first.
 */
function withoutEmptyEntry(resource: Resource): Resource {
  if (resource.resourceType !== 'Bundle' || resource.entry === undefined || resource.entry.length > 0) return resource;
  const { entry: _empty, ...rest } = resource;
  return rest;
}

/** Writes a successful result: status, ETag / Last-Modified / Location (http.html#versioning), body. */
export function respondResult(ctx: Context, result: FhirResult, baseUrl: string, mediaType: string): void {
  const v = result.version;
  if (v) {
    ctx.set('ETag', etagOf(v.versionId));
    ctx.set('Last-Modified', new Date(v.lastUpdated).toUTCString());
    if (result.kind === 'created') ctx.set('Location', `${baseUrl}/${v.resourceType}/${v.id}/_history/${v.versionId}`);
  }
  send(ctx, RESULT_STATUS[result.kind], result.resource ?? result.outcome, mediaType);
}

/** Writes an error as its OperationOutcome with the status of its code; never a stack trace. */
export function respondError(ctx: Context, error: FhirError, mediaType: string): void {
  if (error.hints.allow) ctx.set('Allow', error.hints.allow);
  if (error.hints.retryAfter) ctx.set('Retry-After', error.hints.retryAfter);
  send(ctx, HTTP_STATUS[error.code], error.outcome, mediaType);
}
