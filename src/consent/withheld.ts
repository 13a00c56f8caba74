import { FhirError } from '../fhir/errors.js';
import { informational } from '../fhir/outcome.js';
import type { FhirRequest, FhirResult } from '../fhir/request.js';

/**
 * How a withheld resource is answered (issue 15, item 7). With CONSENT_DENIED_READ_STATUS=404 the
 * answer is word for word the one the interaction gives when the resource does not exist, so
 * neither status, wording nor headers tell a withheld resource from a missing one; with 403 the
 * deployment chose to say that something is withheld.
 */
export function withheldError(request: FhirRequest, what: string, status: 403 | 404): FhirError {
  if (status === 403) return new FhirError('forbidden', `${what} is withheld by the patient's consent`);
  // vread of a missing version (read.ts), anything else as the loader (`live`) and history say.
  if (request.interaction === 'vread' && what === `${request.resourceType}/${request.id}`) {
    return new FhirError('not-found', `${what} has no version ${request.versionId}`);
  }
  return new FhirError('not-found', `${what} is not known`);
}

/** A delete of a withheld resource, answered as the delete of one that does not exist (delete.ts): nothing done. */
export function withheldDelete(request: FhirRequest, status: 403 | 404): FhirResult {
  if (status === 403) throw withheldError(request, `${request.resourceType}/${request.id}`, status);
  return { kind: 'ok', outcome: informational(`${request.resourceType}/${request.id} does not exist; nothing to delete`) };
}
