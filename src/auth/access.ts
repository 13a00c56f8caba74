import { FhirError } from '../fhir/errors.js';
import type { CompartmentRef } from '../search/compartment.js';
import { isRole, ROLE_TABLE, rolePermits, type Role } from './roles.js';
import { grantsOf, parseScopes, type ClinicalScope, type Permission } from './scopes.js';

/** Who is asking, as authorization sees it: the parts of the request context a token filled. */
export interface Grantee {
  scopes: readonly string[];
  roles?: readonly string[];
  /** `fhirUser`, e.g. `Patient/123` or `https://ehr.example/fhir/Practitioner/9`. */
  actor?: string;
  /** Launch patient id (SMART `patient` claim). */
  patient?: string;
}

/** What a permitted interaction may reach. */
export interface Access {
  /** Confined to this patient's compartment (`patient/` scopes, the patient role). */
  compartment?: CompartmentRef;
  /** Query-restricted scopes: a resource is granted when it matches one of these; undefined = no restriction. */
  queries?: ReadonlyArray<Readonly<Record<string, readonly string[]>>>;
}

const forbidden = (message: string): FhirError => new FhirError('forbidden', message);

/** `Patient/123`, or an absolute URL ending so, to its id. */
export function patientIdOf(reference: string | undefined): string | undefined {
  const match = reference ? /(?:^|\/)Patient\/([A-Za-z0-9.-]{1,64})$/.exec(reference) : null;
  return match?.[1];
}

/**
 * Decides whether a grantee may use `permission` on `resourceType`, and within what: SMART scopes
 * (v1 and v2) and FhirGate's roles must both permit it. Throws FhirError `forbidden` (403) otherwise.
 * Tokens without a role are backend services: only `system/` scopes count for them.
 */
export function decideAccess(grantee: Grantee, resourceType: string, permission: Permission, parsed: readonly ClinicalScope[] = parseScopes(grantee.scopes)): Access {
  const grants = grantsOf(parsed, resourceType, permission);
  const what = `'${permission}' on ${resourceType}`;
  if (grants.length === 0) throw forbidden(`No granted scope permits ${what}`);
  const roles = (grantee.roles ?? []).filter(isRole);
  if (roles.length > 0 && !rolePermits(roles, resourceType, permission)) {
    throw forbidden(`Role ${roles.join(', ')} may not use ${what}`);
  }
  const unconfined = grants.filter((g) => g.level !== 'patient' && (roles.length > 0 || g.level === 'system'));
  const usable = unconfined.length > 0 ? unconfined : roles.length > 0 ? grants : [];
  if (usable.length === 0) throw forbidden(`The token carries no role, so only system/ scopes apply; none permits ${what}`);
  const access: Access = {};
  const permitting = roles.filter((r) => ROLE_TABLE[r].resources[resourceType]?.includes(permission));
  const ownOnly = permitting.length > 0 && permitting.every((r: Role) => ROLE_TABLE[r].ownCompartment);
  if (unconfined.length === 0) {
    // A patient signed in without a launch patient is confined to their own record below.
    if (!grantee.patient && !ownOnly) throw forbidden('patient/ scopes need a launch patient, and the token has none');
    if (grantee.patient) access.compartment = { type: 'Patient', id: grantee.patient };
  }
  if (ownOnly) {
    const own = patientIdOf(grantee.actor);
    if (!own) throw forbidden(`Role patient needs a fhirUser that is a Patient`);
    if (access.compartment && access.compartment.id !== own) throw forbidden('The launch patient is not the signed-in patient');
    access.compartment = { type: 'Patient', id: own };
  }
  if (usable.every((g) => g.query)) access.queries = usable.map((g) => g.query!);
  return access;
}
