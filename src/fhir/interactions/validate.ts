import type { OperationOutcomeIssue, Parameters, Resource } from '@medplum/fhirtypes';
import { resourceFromBody } from '../body.js';
import { FhirError } from '../errors.js';
import { assertValidId } from '../ids.js';
import { outcomeOf } from '../outcome.js';
import type { PipelineDeps } from '../pipeline.js';
import type { FhirRequest, FhirResult } from '../request.js';

/**
 * `$validate` (https://hl7.org/fhir/R4/resource-operation-validate.html), at type level
 * (`POST [type]/$validate`) and instance level (`POST [type]/[id]/$validate`): validates without
 * storing. The body is the resource itself or a Parameters with `resource` (and optionally
 * `profile`, validated as if the resource claimed it); `mode` is not interpreted.
 *
 * "200 OK whether the resource is valid or not": every finding is an issue of the outcome. A 4xx
 * means the validation could not be performed at all: a body that is not JSON (400), not a
 * resource of the URL's type (400), or a Parameters without `resource` (400).
 *
 * At instance level the resource is checked as the content of that instance: a body without an id
 * takes the URL's, and a body with another id is an error issue (an update would be refused).
 */
export async function validate(request: FhirRequest, deps: PipelineDeps): Promise<FhirResult> {
  const type = request.resourceType!;
  deps.registry.get(type);
  if (request.id !== undefined) assertValidId(request.id);
  const { resource, profile } = unwrap(request.body, type);
  const claimed = profile ? ({ ...resource, meta: { ...resource.meta, profile: [...(resource.meta?.profile ?? []), profile] } } as Resource) : resource;
  const issues: OperationOutcomeIssue[] = [];
  let target = claimed;
  if (request.id !== undefined) {
    if (claimed.id === undefined) target = { ...claimed, id: request.id };
    else if (claimed.id !== request.id) {
      issues.push({ severity: 'error', code: 'invalid', diagnostics: `The resource's id '${String(claimed.id).slice(0, 64)}' is not the id of the instance validated (${request.id})`, expression: [`${type}.id`] });
    }
  }
  issues.push(...(await deps.validator.validate(target)));
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
