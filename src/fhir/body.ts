import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from './errors.js';

/** The request body as a resource of the expected type; 400 for anything else. */
export function resourceFromBody(body: unknown, expectedType: string): Resource {
  if (body === undefined || body === null) {
    throw new FhirError('bad-request', `A ${expectedType} resource is required in the request body`);
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new FhirError('invalid-structure', 'The request body must be a JSON object holding a FHIR resource');
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (typeof resourceType !== 'string') {
    throw new FhirError('invalid-structure', 'The resource has no resourceType', { expression: ['resourceType'] });
  }
  if (resourceType !== expectedType) {
    throw new FhirError('type-mismatch', `The body holds a ${resourceType.slice(0, 64)} but the URL names ${expectedType}`, { expression: ['resourceType'] });
  }
  return body as Resource;
}
