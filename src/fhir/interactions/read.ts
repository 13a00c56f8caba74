import { FhirError } from '../errors.js';
import { parseVersionId } from '../ids.js';
import { loadLive, resourceOf, versionOf } from '../load.js';
import type { PipelineDeps } from '../pipeline.js';
import { isNotModified } from '../preconditions.js';
import type { FhirRequest, FhirResult } from '../request.js';

/** read (http.html#read), with conditional read by If-None-Match / If-Modified-Since (http.html#cread). */
export async function read(request: FhirRequest, deps: PipelineDeps): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.assertSupports(type, 'read');
  const record = await loadLive(deps, type, request.id!, request.unit);
  if (isNotModified(record, request.ifNoneMatch, request.ifModifiedSince)) {
    return { kind: 'not-modified', version: versionOf(record) };
  }
  return { kind: 'ok', resource: await resourceOf(deps, record), version: versionOf(record) };
}

/** vread (http.html#vread): one version from history; 410 when that version is a deletion. */
export async function vread(request: FhirRequest, deps: PipelineDeps): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.assertSupports(type, 'vread');
  const versionId = parseVersionId(request.versionId!);
  const [record] = await deps.store.find('history', { resourceType: type, id: request.id, versionId }, { limit: 1 });
  if (!record) throw new FhirError('not-found', `${type}/${request.id} has no version ${request.versionId}`);
  if (record.deleted) throw new FhirError('gone', `Version ${versionId} of ${type}/${request.id} is a deletion`);
  if (isNotModified(record, request.ifNoneMatch, request.ifModifiedSince)) {
    return { kind: 'not-modified', version: versionOf(record) };
  }
  return { kind: 'ok', resource: await resourceOf(deps, record), version: versionOf(record) };
}
