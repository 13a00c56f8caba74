import type { Bundle, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { interactionOf } from '../fhir/interactions/table.js';
import type { Loader } from '../fhir/loader.js';
import type { FhirRequest, FhirResult } from '../fhir/request.js';
import { inCompartment, type Compartment } from '../search/compartment.js';
import type { SearchIndex } from '../search/types.js';
import { decideAccess, type Access } from './access.js';
import { authorizeOperation, type OperationNeed } from './operation-access.js';
import type { ScopeQueryMatcher } from './scope-query.js';
import { parseScopes, type ClinicalScope, type Permission } from './scopes.js';

/** Checks (and may narrow) the result of a permitted interaction: what it returns must be granted too. */
export type ResultCheck = (result: FhirResult) => Promise<FhirResult>;

/** What authorization decided: what the request is confined to (search applies it as filters), and a check of its result. */
export interface AccessDecision extends Access {
  check?: ResultCheck;
}

/**
 * The authorization step of the pipeline: throws FhirError `unauthorized`/`forbidden` to stop a
 * request, else RETURNS its decision (issue 16: nothing is written onto the request). Records it
 * must look inside are read through the request's loader, which hands them on to the interaction.
 */
export type Authorizer = (request: FhirRequest, records: Loader) => Promise<AccessDecision>;

/** Permits everything: for pipelines built without authorization (unit tests of interactions). */
export const permitAll: Authorizer = async () => ({});

/** What the SMART authorizer reads resources with, for compartment and query checks. */
export interface SmartAuthorizerDeps {
  /** THE Patient compartment (`src/search/compartment.ts`), the one search and consent use too. */
  compartment: Compartment;
  /** Membership is read with the index's extraction, as search filters on it. */
  searchIndex: SearchIndex;
  matchQuery: ScopeQueryMatcher;
}

const forbidden = (message: string): FhirError => new FhirError('forbidden', message);

/**
 * SMART on FHIR scopes + FhirGate roles + patient compartment, as one pipeline step. Decides from
 * the request context the HTTP edge filled from a verified token and the scope letters of the
 * interaction table; returns the confinement for search to apply as filters, checks single
 * resources itself before the interaction, and filters what bundles return. It loads a resource
 * only when the grant depends on its content (a compartment or query-restricted scopes, issue 14).
 */
export function createSmartAuthorizer(deps: SmartAuthorizerDeps): Authorizer {
  return async (request, records) => {
    const scopes = scopesOf(request.interaction);
    if (scopes === 'open') return {};
    const ctx = request.context;
    if (!ctx.authenticated) throw new FhirError('unauthorized', 'A valid Bearer token is required');
    // Bundles: the envelope needs only authentication; every entry runs through the pipeline, and so through this step, on its own.
    if (scopes === 'envelope') return {};
    // $merge and reports reach beyond one type's permission: the role table and an unrestricted scope decide.
    const operation = accessOf(request.interaction);
    if (operation) {
      authorizeOperation(request, operation);
      return {};
    }
    const needs = scopes;
    if (!needs || needs.length === 0) throw forbidden(`Interaction '${request.interaction}' is not covered by any scope`);
    const type = request.interaction === 'search-compartment' ? (request.compartmentTarget ?? '*') : (request.resourceType ?? '*');
    const parsed = parseScopes(ctx.scopes);
    const access = decideFirst(ctx, type, needs, parsed);
    const confined = access.compartment !== undefined || access.queries !== undefined;
    const check = (resource: Resource | undefined, what: string): void => {
      if (resource && !withinAccess(deps, access, resource)) throw forbidden(`${what} is outside the granted compartment or scope`);
    };

    if ((request.interaction === 'search-compartment' || request.interaction === 'everything') && access.compartment && request.id !== access.compartment.id) {
      throw forbidden(`Only the compartment of Patient/${access.compartment.id} is granted`);
    }
    // Conditional writes (no id) pick their target by search, and a patch is only known after it is applied:
    // neither can be checked against the compartment or a query restriction before it happens, so confined grants may not use them.
    if (confined && (request.interaction === 'patch' || (['update', 'delete'].includes(request.interaction) && request.id === undefined))) {
      throw forbidden(`A ${request.id === undefined ? 'conditional ' : ''}${request.interaction} cannot be confined to a compartment or query; use read then update by id`);
    }
    if (request.id !== undefined && ['read', 'history-instance', 'update', 'delete'].includes(request.interaction)) {
      // An update of what does not exist creates it: the grant must permit create too. Known without loading when it does.
      const mayCreate = request.interaction === 'update' && permits(ctx, type, ['c'], parsed);
      if (confined || (request.interaction === 'update' && !mayCreate)) {
        const current = await liveResource(records, type, request.id);
        check(current, `${type}/${request.id}`);
        if (!current && request.interaction === 'update') decideFirst(ctx, type, ['c'], parsed);
      }
    }
    if (request.interaction === 'vread' && confined) check(await versionResource(records, type, request.id!, request.versionId!), `${type}/${request.id}`);
    if (['create', 'update'].includes(request.interaction) && isResourceOf(request.body, type)) check(request.body, 'The submitted resource');

    return { ...access, check: async (result) => filterResult(deps, request, { type, access }, needs, parsed, result) };
  };
}

/** The permission letters the interaction table asks for. */
function scopesOf(interaction: string): readonly Permission[] | 'envelope' | 'open' | undefined {
  try {
    return interactionOf(interaction).scopes;
  } catch {
    return undefined;
  }
}

/** The operation access rule of the interaction's row, if it has one. */
function accessOf(interaction: string): OperationNeed | undefined {
  try {
    return interactionOf(interaction).access;
  } catch {
    return undefined;
  }
}

/** The current, non-deleted version's resource, or undefined. */
async function liveResource(records: Loader, type: string, id: string): Promise<Resource | undefined> {
  const record = await records.current(type, id);
  return record && !record.deleted && record.resource ? records.resource(record) : undefined;
}

async function versionResource(records: Loader, type: string, id: string, versionId: string): Promise<Resource | undefined> {
  if (!/^[1-9][0-9]{0,15}$/.test(versionId)) return undefined;
  const record = await records.version(type, id, Number(versionId));
  return record && !record.deleted && record.resource ? records.resource(record) : undefined;
}

function permits(ctx: FhirRequest['context'], type: string, needs: readonly Permission[], parsed: readonly ClinicalScope[]): boolean {
  try {
    decideFirst(ctx, type, needs, parsed);
    return true;
  } catch {
    return false;
  }
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
  // Types that cannot be in the compartment (Practitioner, Medication) are not confined by it.
  if (access.compartment && deps.compartment.members.has(resource.resourceType) && !inCompartment(deps.compartment, deps.searchIndex, resource, access.compartment)) return false;
  return !access.queries || access.queries.some((q) => deps.matchQuery(resource, q));
}

function isResourceOf(body: unknown, type: string): body is Resource {
  return typeof body === 'object' && body !== null && (body as Resource).resourceType === type;
}

/** Drops what the grantee may not see from bundles (includes of other types, other patients' data); re-checks single reads. */
async function filterResult(
  deps: SmartAuthorizerDeps,
  request: FhirRequest,
  decided: { type: string; access: Access },
  needs: readonly Permission[],
  parsed: readonly ClinicalScope[],
  result: FhirResult,
): Promise<FhirResult> {
  const { type, access } = decided;
  const resource = result.resource;
  if (!resource || resource.resourceType === 'OperationOutcome') return result;
  const visible = (r: Resource): boolean => {
    if (r.resourceType === 'OperationOutcome') return true;
    // The requested type was decided before the interaction ran, on the same grant and letters: that decision stands (issue 14).
    if (r.resourceType === type) return withinAccess(deps, access, r);
    const permissions = r.resourceType === request.resourceType || r.resourceType === request.compartmentTarget ? needs : (['r'] as const);
    try {
      return withinAccess(deps, decideFirst(request.context, r.resourceType, permissions, parsed), r);
    } catch {
      return false;
    }
  };
  if (resource.resourceType === 'Bundle' && !['create', 'update'].includes(request.interaction)) {
    const bundle = resource as Bundle;
    const confined = access.compartment !== undefined;
    const entry = bundle.entry?.filter((e) => (e.resource ? visible(e.resource) : !confined));
    return { ...result, resource: { ...bundle, ...(entry ? { entry } : {}) } };
  }
  // Reads, and writes that answer with a stored resource (a conditional create finding a match) alike.
  if (!visible(resource)) throw forbidden('The resource is outside the granted compartment or scope');
  return result;
}
