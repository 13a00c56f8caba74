import type { Bundle } from '@medplum/fhirtypes';
import type { Pipeline } from '../pipeline.js';
import type { FhirRequest, PreferReturn, RequestContext } from '../request.js';

/**
 * The request that runs a batch or transaction Bundle, chosen by `Bundle.type`: for in-process
 * callers (the HL7 v2 adapter) exactly what `POST [base]` builds.
 */
export function bundleRequest(bundle: Bundle, context: RequestContext, options: { preferReturn?: PreferReturn } = {}): FhirRequest {
  return {
    interaction: bundle.type === 'batch' ? 'batch' : 'transaction',
    params: {},
    body: bundle,
    context,
    ...(options.preferReturn ? { preferReturn: options.preferReturn } : {}),
  };
}

/**
 * Executes a batch or transaction Bundle in-process through the pipeline (authorization,
 * validation, encoding, audit, one atomic commit for a transaction) and returns the
 * `batch-response` / `transaction-response` Bundle. A failed transaction throws the FhirError
 * naming the failing entry (`issue[0].expression = ['Bundle.entry[n]']`); nothing was stored.
 *
 * The caller sets `context.authenticated`, the `system/` scopes it needs and a `clientId`.
 * `preferReturn: 'minimal'` leaves the resources out of the response entries (cheaper for ingest).
 */
export async function executeBundle(pipeline: Pipeline, bundle: Bundle, context: RequestContext, options: { preferReturn?: PreferReturn } = {}): Promise<Bundle> {
  const result = await pipeline.execute(bundleRequest(bundle, context, options));
  return result.resource as Bundle;
}
