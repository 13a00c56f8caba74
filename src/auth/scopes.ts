/**
 * SMART on FHIR clinical scopes, v1 and v2, parsed into data (SMART App Launch 2.x, scopes-and-launch-context.html).
 *
 *   v1: `patient/*.read`, `user/MedicationRequest.write`, `system/*.*`
 *   v2: `patient/Patient.rs`, `user/Appointment.cruds`, `patient/MedicationRequest.rs?status=active`
 *
 * Both are reduced to the v2 permission letters, so the rest of authorization knows one form:
 * v1 `read` = `rs`, `write` = `cud`, `*` = `cruds` (the v1 → v2 mapping of the spec).
 */

import { paramsOf } from '../fhir/params.js';

/** Who the scope acts for: the launch patient's compartment, the signed-in user, or a backend service. */
export type ScopeLevel = 'patient' | 'user' | 'system';

/** SMART v2 permissions: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

export interface ClinicalScope {
  /** The scope as granted, e.g. `patient/MedicationRequest.rs?status=active`. */
  scope: string;
  level: ScopeLevel;
  /** A resource type, or `*` for every type. */
  resourceType: string;
  permissions: ReadonlySet<Permission>;
  /** v2 query restriction (`?status=active`): only resources matching every parameter are granted. */
  query?: Readonly<Record<string, readonly string[]>>;
}

const CLINICAL = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{0,63})\.([a-z*]+)(?:\?(.+))?$/;
const V1: Readonly<Record<string, string>> = { read: 'rs', write: 'cud', '*': 'cruds' };
const V2 = /^c?r?u?d?s?$/;

/** Parses one clinical scope; undefined for anything else (openid, launch, offline_access, malformed). */
export function parseScope(scope: string): ClinicalScope | undefined {
  const match = CLINICAL.exec(scope);
  if (!match) return undefined;
  const [, level, resourceType, verbs, rawQuery] = match;
  const letters = V1[verbs] ?? (V2.test(verbs) && verbs !== '' ? verbs : undefined);
  if (letters === undefined) return undefined;
  // v1 names take no query restriction; only v2 scopes do.
  if (rawQuery !== undefined && V1[verbs] !== undefined) return undefined;
  const parsed: ClinicalScope = { scope, level: level as ScopeLevel, resourceType, permissions: new Set(letters.split('') as Permission[]) };
  if (rawQuery !== undefined) {
    const query = paramsOf(new URLSearchParams(rawQuery));
    if (Object.keys(query).length === 0) return undefined;
    parsed.query = query;
  }
  return parsed;
}

// A verified token's scope list is frozen and shared by all its requests (bearer.ts): parsed once per token, not per request (issue 14).
const parsedLists = new WeakMap<readonly string[], readonly ClinicalScope[]>();

/** The clinical scopes of a space-separated `scope` claim (or a list of scopes); others are left out. */
export function parseScopes(scopes: string | readonly string[]): readonly ClinicalScope[] {
  if (typeof scopes === 'string') return parseList(scopes.split(/\s+/));
  if (!Object.isFrozen(scopes)) return parseList(scopes);
  let parsed = parsedLists.get(scopes);
  if (!parsed) parsedLists.set(scopes, (parsed = Object.freeze(parseList(scopes))));
  return parsed;
}

function parseList(list: readonly string[]): ClinicalScope[] {
  return list.filter(Boolean).flatMap((s) => parseScope(s) ?? []);
}

/** The scopes granting `permission` on `resourceType`, at any level. */
export function grantsOf(scopes: readonly ClinicalScope[], resourceType: string, permission: Permission): ClinicalScope[] {
  return scopes.filter((s) => (s.resourceType === '*' || s.resourceType === resourceType) && s.permissions.has(permission));
}
