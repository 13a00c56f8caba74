import { FhirError } from '../fhir/errors.js';
import type { FhirRequest, Interaction } from '../fhir/request.js';
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
 * Operations whose reach is not one resource type's permission (issue 18): `$merge` rewrites
 * other types' references, reports count records no role may read one by one (admins count
 * Patients without reading them). `$match` is not here: it is a search of Patient (authorize.ts).
 */
export const OPERATION_NEEDS: Readonly<Partial<Record<Interaction, OperationNeed>>> = {
  merge: { name: 'merge', resourceType: 'Patient', permission: 'u' },
  'report-new-patients': { name: 'new-patients', resourceType: 'Patient', permission: 's' },
  'report-prescriptions': { name: 'prescriptions-by-practitioner', resourceType: 'MedicationRequest', permission: 's' },
  'report-dispenses': { name: 'dispenses-by-medication', resourceType: 'MedicationDispense', permission: 's' },
  'report-appointment-load': { name: 'appointment-load', resourceType: 'Appointment', permission: 's' },
};

/**
 * Authorizes an operation of OPERATION_NEEDS: a `user/` or `system/` scope must grant the
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
