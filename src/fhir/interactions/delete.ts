import { loadCurrent, versionOf } from '../load.js';
import { informational } from '../outcome.js';
import type { PipelineDeps } from '../pipeline.js';
import { checkIfMatch } from '../preconditions.js';
import type { FhirRequest, FhirResult } from '../request.js';
import { prepareWrite, runVersioned } from '../write.js';

/**
 * delete (http.html#delete): writes a tombstone version, so history keeps every earlier version
 * and a later read answers 410 Gone. Deleting what does not exist (or no longer exists) succeeds
 * without a new version, as R4 allows.
 */
export async function remove(request: FhirRequest, deps: PipelineDeps): Promise<FhirResult> {
  const type = request.resourceType!;
  const id = request.id!;
  deps.registry.assertSupports(type, 'delete');
  const attempt = async (): Promise<FhirResult> => {
    const current = await loadCurrent(deps, type, id);
    checkIfMatch(request.ifMatch, current);
    if (!current || current.deleted) {
      return { kind: 'ok', outcome: informational(`${type}/${id} does not exist; nothing to delete`) };
    }
    const prepared = await prepareWrite(deps, { resourceType: type, id, current });
    await deps.store.commit([prepared.op]);
    return { kind: 'ok', outcome: informational(`Deleted ${type}/${id}`), version: versionOf(prepared.op.record) };
  };
  return runVersioned(request.ifMatch, attempt);
}
