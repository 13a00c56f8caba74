import type { StoredRecord } from '../../store/port.js';
import { findMatches } from '../conditional.js';
import { FhirError } from '../errors.js';
import type { Exchange } from '../exchange.js';
import { versionOf } from '../loader.js';
import { informational } from '../outcome.js';
import type { InteractionDeps } from '../pipeline.js';
import { checkIfMatch } from '../preconditions.js';
import type { FhirRequest, FhirResult } from '../request.js';
import { commitWrites, prepareWrite, runVersioned } from '../write.js';

/** Most resources one conditional delete removes when several matches are allowed (FHIR_CONDITIONAL_DELETE_MULTIPLE). */
export const MAX_CONDITIONAL_DELETES = 1000;

/**
 * delete (http.html#delete): writes a tombstone version, so history keeps every earlier version
 * and a later read answers 410 Gone. Deleting what does not exist (or no longer exists) succeeds
 * without a new version, as R4 allows. Without an id it is a conditional delete.
 */
export async function remove(request: FhirRequest, deps: InteractionDeps, exchange: Exchange): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.assertSupports(type, 'delete');
  if (request.id === undefined) return conditionalDelete(request, deps, exchange, type);
  const id = request.id;
  const attempt = async (fresh: boolean): Promise<FhirResult> => {
    const current = await exchange.records.current(type, id, fresh);
    checkIfMatch(request.ifMatch, current);
    if (!current || current.deleted) {
      return { kind: 'ok', outcome: informational(`${type}/${id} does not exist; nothing to delete`) };
    }
    const prepared = await prepareWrite(deps, { resourceType: type, id, current });
    await commitWrites(deps, exchange, [prepared]);
    return { kind: 'ok', outcome: informational(`Deleted ${type}/${id}`), version: versionOf(prepared.op.record) };
  };
  return runVersioned(request.ifMatch, attempt);
}

/**
 * Conditional delete (http.html#cdelete): no match deletes nothing (200), one match is deleted,
 * several are deleted together in one commit when FHIR_CONDITIONAL_DELETE_MULTIPLE allows it, else 412.
 */
async function conditionalDelete(request: FhirRequest, deps: InteractionDeps, exchange: Exchange, type: string): Promise<FhirResult> {
  const multiple = deps.rest.conditionalDeleteMultiple;
  const attempt = async (): Promise<FhirResult> => {
    const limit = multiple ? MAX_CONDITIONAL_DELETES + 1 : 2;
    const matches = await findMatches(deps, exchange, type, request.params, limit);
    if (matches.length > 1 && !multiple) {
      throw new FhirError('precondition-failed', `The conditional delete matches more than one ${type}; this server deletes one resource per conditional delete`);
    }
    if (matches.length > MAX_CONDITIONAL_DELETES) {
      throw new FhirError('precondition-failed', `The conditional delete matches more than ${MAX_CONDITIONAL_DELETES} ${type} resources; make the criteria more selective`);
    }
    if (matches.length === 0) return { kind: 'ok', outcome: informational(`No ${type} matches the criteria; nothing to delete`) };
    const current: StoredRecord[] = await Promise.all(matches.map(async (m) => (await exchange.records.current(type, m.id, true)) ?? m));
    if (current.length === 1) checkIfMatch(request.ifMatch, current[0]);
    const writes = await Promise.all(current.map((c) => prepareWrite(deps, { resourceType: type, id: c.id, current: c })));
    await commitWrites(deps, exchange, writes);
    const ops = writes.map((w) => w.op);
    const ids = current.map((c) => `${type}/${c.id}`).join(', ');
    return { kind: 'ok', outcome: informational(`Deleted ${ids}`), ...(ops.length === 1 ? { version: versionOf(ops[0].record) } : {}) };
  };
  return runVersioned(request.ifMatch, attempt);
}
