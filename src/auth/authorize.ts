import type { FhirRequest } from '../fhir/request.js';

/**
 * The authorization step of the pipeline: throws FhirError `unauthorized`/`forbidden` to stop a request.
 * SMART scopes and roles (issue 7) and the consent gate (issue 8) are implementations of this seam.
 */
export type Authorizer = (request: FhirRequest) => Promise<void>;

/**
 * Permits everything. The only authorizer until SMART authorization lands; it exists so the
 * pipeline already has its authorization step, and tests already pass a full request context.
 */
export const permitAll: Authorizer = async () => {};
