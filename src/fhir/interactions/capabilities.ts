import type { PipelineDeps } from '../pipeline.js';
import type { FhirRequest, FhirResult } from '../request.js';

/** capabilities (http.html#capabilities): the CapabilityStatement generated at start-up. */
export async function capabilities(_request: FhirRequest, deps: PipelineDeps): Promise<FhirResult> {
  return { kind: 'ok', resource: deps.capabilityStatement() };
}
