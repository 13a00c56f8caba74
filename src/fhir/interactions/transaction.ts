import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { VersionConflictError } from '../../store/port.js';
import { entryError, isProblem, parseBundle, planEntries, type EntryPlan } from '../bundles/entries.js';
import { conditionalLockKeys, EntryIdentityError, planIdentities } from '../bundles/identities.js';
import { processingOrder } from '../bundles/order.js';
import { applyConditionalReferences, baseOf, conditionalReferences, resolveConditionalReferences, rewriteReferences, type IdentityMap } from '../bundles/references.js';
import { responseBundle, successEntry } from '../bundles/response.js';
import { conflictError } from '../conflicts.js';
import { FhirError } from '../errors.js';
import type { Exchange } from '../exchange.js';
import type { InteractionDeps } from '../pipeline.js';
import type { FhirRequest, FhirResult } from '../request.js';
import { WriteUnit } from '../write-unit.js';

/** Attempts of a transaction that lost a race with another writer (only when no entry pins a version with If-Match). */
const MAX_ATTEMPTS = 5;

/** An entry that failed while running; the whole transaction fails with its error, naming it. */
class EntryFailure extends Error {
  constructor(
    readonly plan: EntryPlan,
    readonly error: FhirError,
  ) {
    super(error.message);
  }
}

/**
 * transaction (http.html#transaction): every entry runs through the pipeline (authorization,
 * validation, encoding, audit) in prepare mode, its writes staged in one WriteUnit, and all of them
 * are committed in ONE `store.commit` with the AuditEvents of the entries and of the transaction:
 * either every change is stored, visible and audited, or none is, also after a crash. Any failing
 * entry fails the transaction with an OperationOutcome naming it (and every entry is audited as failed).
 *
 * Before running, every entry's identity is decided and references rewritten (fullUrl `urn:uuid:`,
 * `urn:oid:`, absolute URLs; conditional references). Conditional creates on the same criteria are
 * serialized against other requests by locks held from planning to commit.
 */
export async function transaction(request: FhirRequest, deps: InteractionDeps, exchange: Exchange): Promise<FhirResult> {
  const bundle = parseBundle(request.body, 'transaction', deps.rest.maxBundleEntries);
  const planned = planEntries(bundle, request, deps.registry, deps.router);
  const problem = planned.find(isProblem);
  if (problem) throw entryError(problem, problem.error);
  const plans = planned as EntryPlan[];
  assertUniqueFullUrls(plans);
  let keys: string[];
  try {
    // The workflow rules' keys (issue 17: bookings of one practitioner) are held to the commit too, all taken at once (no deadlock).
    keys = [...conditionalLockKeys(plans), ...(deps.workflow?.lockKeys(plans.map((p) => p.request.body as Resource | undefined)) ?? [])];
  } catch (err) {
    throw failureOf(err, false) ?? err;
  }
  const release = await deps.locks.acquire(keys);
  try {
    return await attempts(request, deps, exchange, plans);
  } finally {
    release();
  }
}

async function attempts(request: FhirRequest, deps: InteractionDeps, exchange: Exchange, plans: EntryPlan[]): Promise<FhirResult> {
  const pinned = plans.some((p) => p.request.ifMatch !== undefined);
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    const unit = new WriteUnit();
    try {
      return await runOnce(request, deps, exchange, plans, unit);
    } catch (err) {
      const failure = failureOf(err, pinned);
      // Every entry of the failed attempt is recorded as failed, by the audit step, with the transaction's own record.
      exchange.audit.settled.push(...unit.failed(failure ?? new FhirError('internal', 'The transaction failed; nothing was stored')));
      // Lost a race with another writer: nothing was stored, so the whole transaction can run again.
      if (failure?.code === 'version-conflict' && !pinned && attempt < MAX_ATTEMPTS) continue;
      throw failure ?? err;
    }
  }
}

/** One run of the transaction: plan identities, rewrite references, run every entry staged, commit once. */
async function runOnce(request: FhirRequest, deps: InteractionDeps, exchange: Exchange, template: readonly EntryPlan[], unit: WriteUnit): Promise<FhirResult> {
  // Planning replaces the plans' requests (ids, rewritten bodies): each attempt starts from the bundle as sent.
  const plans = template.map((p) => ({ ...p }));
  const map = await planIdentities(deps, exchange, plans);
  const resolved: IdentityMap = new Map();
  for (const plan of plans) {
    if (plan.request.body === undefined) continue;
    const body = rewriteReferences(plan.request.body, map, baseOf(plan.fullUrl));
    try {
      await resolveConditionalReferences(deps, exchange, conditionalReferences(body), resolved);
    } catch (err) {
      throw err instanceof FhirError ? new EntryFailure(plan, err) : err;
    }
    plan.request = { ...plan.request, body: applyConditionalReferences(body, resolved) };
  }
  const results = new Map<number, FhirResult>();
  for (const plan of processingOrder(plans)) {
    unit.entry = plan.index;
    try {
      results.set(plan.index, await deps.execute(plan.request, unit));
    } catch (err) {
      throw err instanceof FhirError ? new EntryFailure(plan, err) : err;
    }
  }
  const entries = plans.map((plan) => successEntry(results.get(plan.index)!, plan.method, request.context.baseUrl));
  const result: FhirResult = { kind: 'ok', resource: responseBundle('transaction-response', entries, deps.clock()) };
  // The entries' AuditEvents and the transaction's own go into the data's commit: a stored
  // transaction always has its audit trail, and a client never sees a 503 for a stored transaction.
  await exchange.audit.commit(unit.ops, { result }, unit.audits);
  return result;
}

/** The FhirError a failed run answers with; undefined for unexpected errors (the pipeline logs and hides those). */
function failureOf(err: unknown, pinned: boolean): FhirError | undefined {
  if (err instanceof EntryFailure || err instanceof EntryIdentityError) return entryError(err.plan, err.error);
  if (err instanceof VersionConflictError) return conflictError(err, pinned, `${err.resourceType}/${err.id} was changed by another request while the transaction ran`);
  return err instanceof FhirError ? err : undefined;
}

/** bdl-7: fullUrl is unique within a Bundle; two entries claiming one identity cannot both be it. */
function assertUniqueFullUrls(plans: readonly EntryPlan[]): void {
  const seen = new Map<string, number>();
  for (const plan of plans) {
    if (!plan.fullUrl) continue;
    const earlier = seen.get(plan.fullUrl);
    if (earlier !== undefined) {
      throw entryError(plan, new FhirError('bad-request', `fullUrl '${plan.fullUrl.slice(0, 120)}' is also the fullUrl of entry ${earlier}; fullUrls must be unique (bdl-7)`));
    }
    seen.set(plan.fullUrl, plan.index);
  }
}
