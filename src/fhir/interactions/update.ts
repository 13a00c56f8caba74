import type { Resource } from '@medplum/fhirtypes';
import { resourceFromBody } from '../body.js';
import { authorizeCreate, conditionalKey, findSingle, withCreateLock } from '../conditional.js';
import { FhirError } from '../errors.js';
import { newId } from '../ids.js';
import type { Exchange } from '../exchange.js';
import type { InteractionDeps, PipelineDeps } from '../pipeline.js';
import { checkIfMatch } from '../preconditions.js';
import type { FhirRequest, FhirResult } from '../request.js';
import { writeResult } from '../respond.js';
import { commitWrites, prepareWrite, runVersioned } from '../write.js';

/**
 * update (http.html#update), including create-on-update with a client-chosen id (201) and
 * version-aware update with If-Match (412 on mismatch, also when another writer wins the race).
 * Without an id it is a conditional update (`PUT [type]?[criteria]`, http.html#cond-update).
 */
export async function update(request: FhirRequest, deps: InteractionDeps, exchange: Exchange): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.assertSupports(type, 'update');
  const resource = resourceFromBody(request.body, type);
  if (request.id === undefined) return conditionalUpdate(request, deps, exchange, type, resource);
  const id = request.id;
  if (resource.id === undefined) {
    throw new FhirError('id-mismatch', `The body must carry id '${id}' to update ${type}/${id}`, { expression: [`${type}.id`] });
  }
  assertSameId(type, id, resource);
  return updateById(request, deps, exchange, type, id, resource);
}

/**
 * Conditional update: no match creates (with the body's id, or a new one), one match is updated
 * (a body id must then be the match's), several are a 412. Creating is serialized per criteria
 * like a conditional create.
 */
async function conditionalUpdate(request: FhirRequest, deps: InteractionDeps, exchange: Exchange, type: string, resource: Resource): Promise<FhirResult> {
  return withCreateLock(deps, exchange, conditionalKey(type, request.params), async () => {
    const match = await findSingle(deps, exchange, type, request.params, 'conditional update');
    if (match && resource.id !== undefined) assertSameId(type, match.id, resource);
    if (!match) await authorizeCreate(deps, exchange, resource);
    const id = match?.id ?? resource.id ?? newId();
    return updateById(request, deps, exchange, type, id, { ...resource, id } as Resource);
  });
}

function assertSameId(type: string, id: string, resource: Resource): void {
  if (resource.id !== id) {
    throw new FhirError('id-mismatch', `The body's id '${String(resource.id).slice(0, 64)}' differs from the target's id '${id}'`, { expression: [`${type}.id`] });
  }
}

/** Writes a new version of `type/id` (creating it when absent), retried or 412 on a race as If-Match says. */
export async function updateById(request: FhirRequest, deps: InteractionDeps, exchange: Exchange, type: string, id: string, resource: Resource): Promise<FhirResult> {
  const attempt = async (fresh: boolean): Promise<FhirResult> => {
    const current = await exchange.records.current(type, id, fresh);
    checkIfMatch(request.ifMatch, current);
    const prepared = await prepareWrite(deps, { resourceType: type, id, resource, current });
    await commitWrites(deps, exchange, [prepared]);
    const created = !current || current.deleted;
    return writeResult(request, created ? 'created' : 'ok', prepared.op.record, prepared.resource, `${created ? 'Created' : 'Updated'} ${type}/${id}`);
  };
  return runVersioned(request.ifMatch, attempt);
}
