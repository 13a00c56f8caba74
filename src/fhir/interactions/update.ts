import { resourceFromBody } from '../body.js';
import { FhirError } from '../errors.js';
import { loadCurrent } from '../load.js';
import type { PipelineDeps } from '../pipeline.js';
import { checkIfMatch } from '../preconditions.js';
import type { FhirRequest, FhirResult } from '../request.js';
import { writeResult } from '../respond.js';
import { prepareWrite, runVersioned } from '../write.js';

/**
 * update (http.html#update), including create-on-update with a client-chosen id (201) and
 * version-aware update with If-Match (412 on mismatch, also when another writer wins the race).
 */
export async function update(request: FhirRequest, deps: PipelineDeps): Promise<FhirResult> {
  const type = request.resourceType!;
  const id = request.id!;
  deps.registry.assertSupports(type, 'update');
  const resource = resourceFromBody(request.body, type);
  if (resource.id === undefined) {
    throw new FhirError('id-mismatch', `The body must carry id '${id}' to update ${type}/${id}`, { expression: [`${type}.id`] });
  }
  if (resource.id !== id) {
    throw new FhirError('id-mismatch', `The body's id '${String(resource.id).slice(0, 64)}' differs from the URL's id '${id}'`, { expression: [`${type}.id`] });
  }
  const attempt = async (): Promise<FhirResult> => {
    const current = await loadCurrent(deps, type, id);
    checkIfMatch(request.ifMatch, current);
    const prepared = await prepareWrite(deps, { resourceType: type, id, resource, current });
    await deps.store.commit([prepared.op]);
    const created = !current || current.deleted;
    return writeResult(request, created ? 'created' : 'ok', prepared.op.record, prepared.resource, `${created ? 'Created' : 'Updated'} ${type}/${id}`);
  };
  return runVersioned(request.ifMatch, attempt);
}
