import type { Resource } from '@medplum/fhirtypes';
import { findSingle } from '../conditional.js';
import { FhirError } from '../errors.js';
import type { Exchange } from '../exchange.js';
import { applyFhirPathPatch, isFhirPathPatch } from '../patch/fhirpath-patch.js';
import { applyJsonPatch, isJsonPatch } from '../patch/json-patch.js';
import type { InteractionDeps } from '../pipeline.js';
import { checkIfMatch } from '../preconditions.js';
import type { FhirRequest, FhirResult } from '../request.js';
import { writeResult } from '../respond.js';
import { commitWrites, prepareWrite, runVersioned } from '../write.js';

/**
 * patch (http.html#patch) with JSON Patch or FHIRPath Patch. The patch is applied to the current
 * version and the result written like any update: validated, version-checked (`If-Match` gives a
 * 412; without it a concurrent writer makes the patch re-apply to the new version, so nothing is
 * lost). Without an id it is a conditional patch: no match 404, one match patched, several 412.
 */
export async function patch(request: FhirRequest, deps: InteractionDeps, exchange: Exchange): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.assertSupports(type, 'update');
  const apply = patcher(request.body);
  let id = request.id;
  if (id === undefined) {
    const match = await findSingle(deps, exchange, type, request.params, 'conditional patch');
    if (!match) throw new FhirError('not-found', `No ${type} matches the conditional patch criteria`);
    id = match.id;
  }
  const target = id;
  const attempt = async (fresh: boolean): Promise<FhirResult> => {
    const current = await exchange.records.live(type, target, fresh);
    checkIfMatch(request.ifMatch, current);
    const patched = apply(structuredClone(await exchange.records.resource(current)));
    if (patched.resourceType !== type) throw new FhirError('type-mismatch', 'A patch may not change the resourceType');
    if (patched.id !== target) throw new FhirError('id-mismatch', 'A patch may not change the id');
    // What the grant and the patient's Consents cover is decided on the result too: a patch is checked as the update it amounts to.
    const asUpdate: FhirRequest = { ...request, interaction: 'update', id: target, params: {}, body: patched };
    await deps.authorize(asUpdate, exchange.records);
    await deps.consent?.check({ ...exchange, request: asUpdate });
    const prepared = await prepareWrite(deps, { resourceType: type, id: target, resource: patched, current });
    await commitWrites(deps, exchange, [prepared]);
    return writeResult(request, 'ok', prepared.op.record, prepared.resource, `Patched ${type}/${target}`);
  };
  return runVersioned(request.ifMatch, attempt);
}

/** The patch function of the body's format; anything else is a 400 (unsupported formats are refused at the edge). */
function patcher(body: unknown): (resource: Resource) => Resource {
  if (isJsonPatch(body)) return (resource) => applyJsonPatch(resource, body);
  if (isFhirPathPatch(body)) return (resource) => applyFhirPathPatch(resource, body);
  throw new FhirError('bad-request', 'A patch body must be a JSON Patch (an array of operations) or a FHIRPath Patch (a Parameters resource)');
}
