import { resourceFromBody } from '../body.js';
import { newId } from '../ids.js';
import type { PipelineDeps } from '../pipeline.js';
import type { FhirRequest, FhirResult } from '../request.js';
import { writeResult } from '../respond.js';
import { prepareWrite } from '../write.js';

/** create (http.html#create): the server assigns the id; any id in the body is ignored, as the spec requires. */
export async function create(request: FhirRequest, deps: PipelineDeps): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.assertSupports(type, 'create');
  const resource = resourceFromBody(request.body, type);
  const id = newId();
  const prepared = await prepareWrite(deps, { resourceType: type, id, resource });
  await deps.store.commit([prepared.op]);
  return writeResult(request, 'created', prepared.op.record, prepared.resource, `Created ${type}/${id}`);
}
