import type { Resource } from '@medplum/fhirtypes';
import { authorizedScope, conditionalKey, findMatches, findSingle, parseCriteria } from '../conditional.js';
import type { Exchange } from '../exchange.js';
import { FhirError } from '../errors.js';
import { newId } from '../ids.js';
import type { InteractionDeps } from '../pipeline.js';
import type { FhirRequest } from '../request.js';
import type { EntryPlan } from './entries.js';
import { rewriteParams, type IdentityMap } from './references.js';

/** True for a create or update entry that may create on conditional criteria. */
function createsConditionally(request: FhirRequest): boolean {
  return (request.interaction === 'create' && request.ifNoneExist !== undefined) || (request.interaction === 'update' && request.id === undefined);
}

/**
 * The lock keys of a transaction's conditional creates (see `withCreateLock`), taken before it
 * starts. Two entries creating on the same criteria would each decide without seeing the other:
 * the transaction is refused instead (http.html#trules, overlapping identities).
 */
export function conditionalLockKeys(plans: readonly EntryPlan[]): string[] {
  const keys = new Map<string, EntryPlan>();
  for (const plan of plans.filter((p) => createsConditionally(p.request))) {
    const { request } = plan;
    const key = conditionalKey(request.resourceType!, request.ifNoneExist !== undefined ? parseCriteria(request.ifNoneExist) : request.params);
    const earlier = keys.get(key);
    if (earlier) throw new EntryIdentityError(plan, new FhirError('bad-request', `Entry ${earlier.index} creates conditionally on the same criteria; one transaction may not create twice on '${key.slice(0, 120)}'`));
    keys.set(key, plan);
  }
  return [...keys.keys()];
}

/**
 * Decides the identity of every write entry before any runs, so references can be rewritten:
 * a POST gets a new id; a conditional create the id of its match, or a new one; a conditional
 * update or patch the id of its match (or, for an update, the body's id or a new one). Each plan's
 * request is replaced by one naming its target (a conditional update becomes an update of
 * that id). Conditional deletes stay conditional: nothing can reference what they remove.
 * Returns fullUrl → `Type/id` for every entry with a fullUrl and an identity.
 */
export async function planIdentities(deps: InteractionDeps, exchange: Exchange, plans: readonly EntryPlan[]): Promise<IdentityMap> {
  const map: IdentityMap = new Map();
  const name = (plan: EntryPlan): void => {
    const { resourceType, id } = plan.request;
    if (plan.fullUrl && resourceType && id && plan.request.interaction !== 'delete') map.set(plan.fullUrl, `${resourceType}/${id}`);
  };
  // Plain entries first: conditional criteria may reference them (`Observation?subject=urn:uuid:...`).
  for (const plan of plans) {
    if (plan.request.interaction === 'create' && plan.request.ifNoneExist === undefined) plan.request = { ...plan.request, id: newId() };
    if (!createsConditionally(plan.request) && !(plan.request.interaction === 'patch' && plan.request.id === undefined)) name(plan);
  }
  for (const plan of plans) {
    try {
      if (await resolveConditional(deps, exchange, plan, map)) name(plan);
    } catch (err) {
      throw err instanceof FhirError ? new EntryIdentityError(plan, err) : err;
    }
  }
  for (const plan of plans) plan.request = { ...plan.request, params: rewriteParams(plan.request.params, map) };
  assertNoOverlap(plans);
  return map;
}

const WRITES = new Set(['create', 'update', 'patch', 'delete']);

/**
 * http.html#trules: "If any resource identities (including resolved identities from conditional
 * update/delete) overlap in steps 1-3, then the transaction SHALL fail." Checked on the planned
 * identities (a DELETE of nothing still claims its resource); resources found by conditional
 * deletes are checked when they are staged (`WriteUnit.stage`).
 */
function assertNoOverlap(plans: readonly EntryPlan[]): void {
  const claimed = new Map<string, number>();
  for (const plan of plans) {
    const { interaction, resourceType, id, ifNoneExist } = plan.request;
    // A conditional create that found its match writes nothing; it only names the resource.
    if (!WRITES.has(interaction) || id === undefined || (interaction === 'create' && ifNoneExist !== undefined)) continue;
    const key = `${resourceType}/${id}`;
    const earlier = claimed.get(key);
    if (earlier !== undefined) throw new EntryIdentityError(plan, new FhirError('bad-request', `${key} is also changed by entry ${earlier}; a transaction may change a resource once`));
    claimed.set(key, plan.index);
  }
}

/** Resolves a conditional create, update or patch entry to its target id; false for other entries. */
async function resolveConditional(deps: InteractionDeps, exchange: Exchange, plan: EntryPlan, map: IdentityMap): Promise<boolean> {
  const request = plan.request;
  if (request.interaction === 'create' && request.ifNoneExist !== undefined) {
    const criteria = rewriteParams(parseCriteria(request.ifNoneExist), map);
    const ifNoneExist = new URLSearchParams(Object.entries(criteria).flatMap(([k, vs]) => vs.map((v) => [k, v]))).toString();
    const matches = await findMatches(deps, await authorizedScope(deps, exchange, request), request.resourceType!, criteria, 2);
    if (matches.length > 1) throw new FhirError('precondition-failed', `If-None-Exist matches more than one ${request.resourceType}; make the criteria more selective`);
    plan.request = { ...request, ifNoneExist, id: matches[0]?.id ?? newId() };
    return true;
  }
  if ((request.interaction === 'update' || request.interaction === 'patch') && request.id === undefined) {
    const params = rewriteParams(request.params, map);
    const scope = await authorizedScope(deps, exchange, { ...request, params });
    const match = await findSingle(deps, scope, request.resourceType!, params, `conditional ${request.interaction}`);
    if (request.interaction === 'update') {
      const { id, body } = targetOfUpdate(plan, match?.id);
      plan.request = { ...request, id, body, params: {} };
    } else plan.request = { ...request, id: patchTarget(plan, match?.id), params: {} };
    return true;
  }
  return false;
}

/** A conditional update's target: its match (the body's id must agree), else the body's id, else a new one. */
function targetOfUpdate(plan: EntryPlan, matchId: string | undefined): { id: string; body: Resource } {
  const body = plan.request.body as Resource;
  if (matchId && body.id !== undefined && body.id !== matchId) {
    throw new FhirError('id-mismatch', `The body's id '${String(body.id).slice(0, 64)}' differs from the id '${matchId}' the criteria match`);
  }
  const id = matchId ?? body.id ?? newId();
  return { id, body: { ...body, id } as Resource };
}

function patchTarget(plan: EntryPlan, matchId: string | undefined): string {
  if (!matchId) throw new FhirError('not-found', `No ${plan.request.resourceType} matches the conditional patch criteria`);
  return matchId;
}

/** A failure while planning an entry's identity, naming the entry. */
export class EntryIdentityError extends Error {
  constructor(
    readonly plan: EntryPlan,
    readonly error: FhirError,
  ) {
    super(error.message);
  }
}
