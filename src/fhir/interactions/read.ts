import { FhirError } from '../errors.js';
import { parseVersionId } from '../ids.js';
import type { Exchange } from '../exchange.js';
import { versionOf } from '../loader.js';
import type { PipelineDeps } from '../pipeline.js';
import { isNotModified } from '../preconditions.js';
import type { FhirRequest, FhirResult } from '../request.js';

/** read (http.html#read), with conditional read by If-None-Match / If-Modified-Since (http.html#cread). */
export async function read(request: FhirRequest, deps: PipelineDeps, exchange: Exchange): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.assertSupports(type, 'read');
  // What authorization loaded (a confined grant) is handed on through the exchange: read and decoded once (issue 14).
  const record = await exchange.records.live(type, request.id!);
  if (isNotModified(record, request.ifNoneMatch, request.ifModifiedSince)) {
    return { kind: 'not-modified', version: versionOf(record) };
  }
  return { kind: 'ok', resource: await exchange.records.resource(record), version: versionOf(record) };
}

/** vread (http.html#vread): one version from history; 410 when that version is a deletion. */
export async function vread(request: FhirRequest, deps: PipelineDeps, exchange: Exchange): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.assertSupports(type, 'vread');
  const versionId = parseVersionId(request.versionId!);
  const record = await exchange.records.version(type, request.id!, versionId);
  if (!record) throw new FhirError('not-found', `${type}/${request.id} has no version ${request.versionId}`);
  if (record.deleted) throw new FhirError('gone', `Version ${versionId} of ${type}/${request.id} is a deletion`);
  if (isNotModified(record, request.ifNoneMatch, request.ifModifiedSince)) {
    return { kind: 'not-modified', version: versionOf(record) };
  }
  return { kind: 'ok', resource: await exchange.records.resource(record), version: versionOf(record) };
}
