import type { Parameters, Resource } from '@medplum/fhirtypes';
import { resourceFromBody } from '../body.js';
import { FhirError } from '../errors.js';
import { outcomeOf } from '../outcome.js';
import type { PipelineDeps } from '../pipeline.js';
import type { FhirRequest, FhirResult } from '../request.js';

/**
 * `$validate` (resource-operation-validate.html): validates without storing and always answers
 * 200 with an OperationOutcome. The body is the resource itself or a Parameters with `resource`
 * (and optionally `profile`, validated as if the resource claimed it).
 */
export async function validate(request: FhirRequest, deps: PipelineDeps): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.get(type);
  const { resource, profile } = unwrap(request.body, type);
  const target = profile ? ({ ...resource, meta: { ...resource.meta, profile: [...(resource.meta?.profile ?? []), profile] } } as Resource) : resource;
  const issues = await deps.validator.validate(target);
  return { kind: 'ok', resource: outcomeOf(issues) };
}

function unwrap(body: unknown, type: string): { resource: Resource; profile?: string } {
  if ((body as { resourceType?: unknown } | undefined)?.resourceType !== 'Parameters' || type === 'Parameters') {
    return { resource: resourceFromBody(body, type) };
  }
  const parameters = (body as Parameters).parameter ?? [];
  const resource = parameters.find((p) => p.name === 'resource')?.resource;
  if (!resource) throw new FhirError('bad-request', `$validate Parameters must contain a 'resource' parameter`);
  const profile = parameters.find((p) => p.name === 'profile')?.valueUri ?? parameters.find((p) => p.name === 'profile')?.valueCanonical;
  return { resource: resourceFromBody(resource, type), profile };
}
