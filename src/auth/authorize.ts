import type { Bundle, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { FhirRequest, FhirResult } from '../fhir/request.js';
import { decideAccess, type Access } from './access.js';
import type { CompartmentCheck } from './compartment.js';
import { authorizeOperation, OPERATION_NEEDS } from './operation-access.js';
import type { ScopeQueryMatcher } from './scope-query.js';
import { parseScopes, type ClinicalScope, type Permission } from './scopes.js';

/** Checks (and may narrow) the result of a permitted interaction: what it returns must be granted too. */
export type ResultCheck = (result: FhirResult) => Promise<FhirResult>;

/**
 * The authorization step of the pipeline: throws FhirError `unauthorized`/`forbidden` to stop a
 * request; may return a check the pipeline applies to the interaction's result.
 */
export type Authorizer = (request: FhirRequest) => Promise<ResultCheck | void>;

/** Permits everything: for pipelines built without authorization (unit tests of interactions). */
export const permitAll: Authorizer = async () => {};

/** What the SMART authorizer reads: resources as stored (decoded), for compartment and query checks. */
export interface SmartAuthorizerDeps {
  compartment: CompartmentCheck;
  matchQuery: ScopeQueryMatcher;
  /** The current version, undefined when it never existed or is deleted. */
  loadCurrent(resourceType: string, id: string): Promise<Resource | undefined>;
  loadVersion(resourceType: string, id: string, versionId: string): Promise<Resource | undefined>;
}

// What each interaction needs (SMART v2 letters; any one suffices). Unlisted interactions are refused.
const NEEDS: Readonly<Record<string, readonly Permission[]>> = {
  read: ['r'],
  vread: ['r'],
  'history-instance': ['r'],
  'history-type': ['s'],
  'search-type': ['s'],
  'search-compartment': ['s'],
  everything: ['r'],
  create: ['c'],
  update: ['u'],
  patch: ['u'],
  delete: ['d'],
  validate: ['c', 'u'],
  'history-system': ['s'],
  // Patient/$match is a search of Patient (issue 18): its matches are filtered as a search's are.
  match: ['s'],
};

// Bundles: the envelope needs only authentication; every entry runs through the pipeline, and so
// through this step, on its own (src/fhir/write-unit.ts).
const ENVELOPES = new Set(['transaction', 'batch']);

const forbidden = (message: string): FhirError => new FhirError('forbidden', message);

/**
 * SMART on FHIR scopes + FhirGate roles + patient compartment, as one pipeline step. Decides from
 * the request context the HTTP edge filled from a verified token; puts the confinement on the
 * context (`compartment`, `grantedQueries`) for search to apply as filters, checks single
 * resources itself before the interaction, and filters what bundles return.
 */
export function createSmartAuthorizer(deps: SmartAuthorizerDeps): Authorizer {
  return async (request) => {
    if (request.interaction === 'capabilities') return;
    const ctx = request.context;
    if (!ctx.authenticated) throw new FhirError('unauthorized', 'A valid Bearer token is required');
    if (ENVELOPES.has(request.interaction)) return;
    const operation = OPERATION_NEEDS[request.interaction];
    if (operation) return authorizeOperation(request, operation);
    const needs = NEEDS[request.interaction];
    if (!needs) throw forbidden(`Interaction '${request.interaction}' is not covered by any scope`);
    const type = request.interaction === 'search-compartment' ? (request.compartmentTarget ?? '*') : (request.resourceType ?? '*');
    const parsed = parseScopes(ctx.scopes);
    const access = decideFirst(ctx, type, needs, parsed);
    ctx.compartment = access.compartment;
    ctx.grantedQueries = access.queries;
    const check = (resource: Resource | undefined, what: string): void => {
      if (resource && !withinAccess(deps, access, resource)) throw forbidden(`${what} is outside the granted compartment or scope`);
    };

    if ((request.interaction === 'search-compartment' || request.interaction === 'everything') && access.compartment && request.id !== access.compartment.id) {
      throw forbidden(`Only the compartment of Patient/${access.compartment.id} is granted`);
    }
    // Conditional writes (no id) pick their target by search, and a patch is only known after it is applied:
    // neither can be checked against the compartment or a query restriction before it happens, so confined grants may not use them.
    const confined = access.compartment !== undefined || access.queries !== undefined;
    if (confined && (request.interaction === 'patch' || (['update', 'delete'].includes(request.interaction) && request.id === undefined))) {
      throw forbidden(`A ${request.id === undefined ? 'conditional ' : ''}${request.interaction} cannot be confined to a compartment or query; use read then update by id`);
    }
    if (request.id !== undefined && ['read', 'history-instance', 'update', 'delete'].includes(request.interaction)) {
      const current = await deps.loadCurrent(type, request.id);
      check(current, `${type}/${request.id}`);
      if (!current && request.interaction === 'update') decideFirst(ctx, type, ['c'], parsed);
    }
    if (request.interaction === 'vread') check(await deps.loadVersion(type, request.id!, request.versionId!), `${type}/${request.id}`);
    if (['create', 'update'].includes(request.interaction) && isResourceOf(request.body, type)) check(request.body, 'The submitted resource');

    return async (result) => filterResult(deps, request, needs, parsed, result);
  };
}

function decideFirst(ctx: FhirRequest['context'], type: string, needs: readonly Permission[], parsed: readonly ClinicalScope[]): Access {
  let last: unknown;
  for (const permission of needs) {
    try {
      return decideAccess(ctx, type, permission, parsed);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

function withinAccess(deps: SmartAuthorizerDeps, access: Access, resource: Resource): boolean {
  if (access.compartment && deps.compartment.hasMembers(resource.resourceType) && !deps.compartment.contains(resource, access.compartment)) return false;
  return !access.queries || access.queries.some((q) => deps.matchQuery(resource, q));
}

function isResourceOf(body: unknown, type: string): body is Resource {
  return typeof body === 'object' && body !== null && (body as Resource).resourceType === type;
}

/** Drops what the grantee may not see from bundles (includes of other types, other patients' data); re-checks single reads. */
async function filterResult(deps: SmartAuthorizerDeps, request: FhirRequest, needs: readonly Permission[], parsed: readonly ClinicalScope[], result: FhirResult): Promise<FhirResult> {
  const resource = result.resource;
  if (!resource || resource.resourceType === 'OperationOutcome') return result;
  const visible = (r: Resource): boolean => {
    if (r.resourceType === 'OperationOutcome') return true;
    const permissions = r.resourceType === request.resourceType || r.resourceType === request.compartmentTarget ? needs : (['r'] as const);
    try {
      return withinAccess(deps, decideFirst(request.context, r.resourceType, permissions, parsed), r);
    } catch {
      return false;
    }
  };
  if (resource.resourceType === 'Bundle' && !['create', 'update'].includes(request.interaction)) {
    const bundle = resource as Bundle;
    const confined = request.context.compartment !== undefined;
    const entry = bundle.entry?.filter((e) => (e.resource ? visible(e.resource) : !confined));
    return { ...result, resource: { ...bundle, ...(entry ? { entry } : {}) } };
  }
  // Reads, and writes that answer with a stored resource (a conditional create finding a match) alike.
  if (!visible(resource)) throw forbidden('The resource is outside the granted compartment or scope');
  return result;
}
