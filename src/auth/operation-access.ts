import { FhirError } from '../fhir/errors.js';
import type { FhirRequest } from '../fhir/request.js';
import { isRole, roleRunsOperation } from './roles.js';
import { grantsOf, parseScopes, type Permission } from './scopes.js';

/** What running an operation takes: the role table's `operations` naming it, and a scope on the type it acts on. */
export interface OperationNeed {
  /** The operation's name without `$`, as the role table lists it. */
  name: string;
  resourceType: string;
  permission: Permission;
}

/**
 * Authorizes an operation whose table row names its `access` ($merge, reports): a `user/` or `system/` scope must grant the
 * permission on its type without a query restriction (a `patient/` scope or `?status=` restriction
 * cannot confine a merge or a count over every patient), and a role of the token must list the
 * operation; a token without a role (a backend service) needs a `system/` scope. Throws `forbidden`.
 */
export function authorizeOperation(request: FhirRequest, need: OperationNeed): void {
  const ctx = request.context;
  const roles = (ctx.roles ?? []).filter(isRole);
  const grants = grantsOf(parseScopes(ctx.scopes), need.resourceType, need.permission).filter((g) => !g.query && (g.level === 'system' || (g.level === 'user' && roles.length > 0)));
  const what = `$${need.name}`;
  if (grants.length === 0) throw new FhirError('forbidden', `${what} needs an unrestricted user/ or system/ scope granting '${need.permission}' on ${need.resourceType}`);
  if (roles.length > 0 && !roleRunsOperation(roles, need.name)) throw new FhirError('forbidden', `Role ${roles.join(', ')} may not run ${what}`);
}
