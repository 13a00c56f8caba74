import type { BundleEntry } from '@medplum/fhirtypes';
import { entryError, isProblem, parseBundle, planEntries, type EntryPlan, type EntryProblem } from '../bundles/entries.js';
import { processingOrder } from '../bundles/order.js';
import { applyConditionalReferences, conditionalReferences, resolveConditionalReferences, type IdentityMap } from '../bundles/references.js';
import { errorEntry, responseBundle, successEntry } from '../bundles/response.js';
import { FhirError } from '../errors.js';
import { responseBudget } from '../limits.js';
import type { Exchange } from '../exchange.js';
import type { InteractionDeps } from '../pipeline.js';
import type { FhirRequest, FhirResult } from '../request.js';

/**
 * batch (http.html#transaction): every entry is an independent request through the pipeline,
 * committed on its own, answered with its own status (and OperationOutcome when it failed) in a
 * `batch-response`. Entries may not depend on each other, so `urn:uuid:` references are not
 * rewritten; conditional references are resolved per entry. Entries run one after another, in
 * the transaction processing order.
 */
export async function batch(request: FhirRequest, deps: InteractionDeps, exchange: Exchange): Promise<FhirResult> {
  const bundle = parseBundle(request.body, 'batch', deps.rest.maxBundleEntries);
  const planned = planEntries(bundle, request, deps.registry, deps.router);
  const entries: BundleEntry[] = new Array(planned.length);
  const charge = responseBudget('batch-response', deps.paging.maxResponseChars);
  for (const plan of processingOrder(planned)) {
    entries[plan.index] = await runEntry(deps, exchange, plan, request.context.baseUrl);
    charge(entries[plan.index].resource);
  }
  return { kind: 'ok', resource: responseBundle('batch-response', entries, deps.clock()) };
}

async function runEntry(deps: InteractionDeps, exchange: Exchange, plan: EntryPlan | EntryProblem, baseUrl: string): Promise<BundleEntry> {
  if (isProblem(plan)) return errorEntry(entryError(plan, plan.error));
  try {
    let request = plan.request;
    if (request.body !== undefined) {
      const resolved: IdentityMap = new Map();
      await resolveConditionalReferences(deps, exchange, conditionalReferences(request.body), resolved);
      request = { ...request, body: applyConditionalReferences(request.body, resolved) };
    }
    return successEntry(await deps.execute(request), plan.method, baseUrl);
  } catch (err) {
    if (err instanceof FhirError) return errorEntry(entryError(plan, err));
    throw err;
  }
}
