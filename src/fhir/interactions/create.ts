import type { Resource } from '@medplum/fhirtypes';
import { VersionConflictError } from '../../store/port.js';
import { resourceFromBody } from '../body.js';
import { conditionalKey, findMatches, matchedResult, parseCriteria, withCreateLock } from '../conditional.js';
import { FhirError } from '../errors.js';
import { newId } from '../ids.js';
import type { Exchange } from '../exchange.js';
import type { InteractionDeps } from '../pipeline.js';
import type { FhirRequest, FhirResult } from '../request.js';
import { writeResult } from '../respond.js';
import { commitWrites, prepareWrite, runVersioned } from '../write.js';

/**
 * create (http.html#create): the server assigns the id; any id in the body is ignored, as the spec requires.
 * With `If-None-Exist` it is a conditional create (http.html#ccreate): no match creates (201), one
 * match returns it untouched (200), several are a 412. Conditional creates on the same criteria are
 * serialized, so two racing clients create exactly one resource.
 */
export async function create(request: FhirRequest, deps: InteractionDeps, exchange: Exchange): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.assertSupports(type, 'create');
  const resource = resourceFromBody(request.body, type);
  if (request.ifNoneExist === undefined) return createNew(request, deps, exchange, type, resource);
  const criteria = parseCriteria(request.ifNoneExist);
  return withCreateLock(deps, exchange, conditionalKey(type, criteria), async () => {
    const matches = await findMatches(deps, exchange, type, criteria, 2);
    if (matches.length > 1) throw new FhirError('precondition-failed', `If-None-Exist matches more than one ${type}; make the criteria more selective`);
    const [match] = matches;
    if (!match) return createNew(request, deps, exchange, type, resource);
    // A transaction resolved this entry before running it; a different answer now means another writer got in between.
    if (request.id !== undefined && request.id !== match.id) throw new VersionConflictError(type, match.id, 0, match.versionId);
    return matchedResult(match, await exchange.records.resource(match), request);
  });
}

async function createNew(request: FhirRequest, deps: InteractionDeps, exchange: Exchange, type: string, resource: Resource): Promise<FhirResult> {
  const id = request.id ?? newId();
  // Re-run when a workflow rule's read went stale (the prescription or slot changed meanwhile, issue 17).
  return runVersioned(undefined, async () => {
    const prepared = await prepareWrite(deps, { resourceType: type, id, resource });
    await commitWrites(deps, exchange, [prepared]);
    return writeResult(request, 'created', prepared.op.record, prepared.resource, `Created ${type}/${id}`);
  });
}
