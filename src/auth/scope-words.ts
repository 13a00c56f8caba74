import { parseScope, type Permission } from './scopes.js';

/**
 * Plain words for SMART scopes, for the consent page and the patient portal (issue 21): what a
 * scope lets an app do, said to the person who decides. Pure data and functions, no HTML.
 */

/** Resource types as a patient would name them; others are spelled out from their type name. */
export const RESOURCE_WORDS: Readonly<Record<string, string>> = {
  '*': 'health data',
  Patient: 'demographics (name, birth date, contact details)',
  Practitioner: 'the directory of clinicians',
  Organization: 'the directory of organizations',
  MedicationRequest: 'prescriptions',
  MedicationDispense: 'dispensed medicines',
  MedicationStatement: 'medicines taken',
  Consent: 'privacy choices (who may see the record)',
  Appointment: 'appointments',
  AuditEvent: 'access log (who looked at the record)',
  Observation: 'observations and test results',
  Condition: 'conditions and diagnoses',
  AllergyIntolerance: 'allergies',
  Immunization: 'vaccinations',
  Encounter: 'visits and stays',
  DiagnosticReport: 'reports',
  Procedure: 'procedures',
  DocumentReference: 'documents',
  CarePlan: 'care plans',
};

/** "MedicationRequest" → "medication requests" for types without a word of their own. */
export function resourceWords(resourceType: string): string {
  return RESOURCE_WORDS[resourceType] ?? `${resourceType.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()} records`;
}

const VERBS: ReadonlyArray<[Permission, string]> = [
  ['r', 'see'],
  ['s', 'search'],
  ['c', 'add to'],
  ['u', 'change'],
  ['d', 'delete'],
];

/** "see, search and change" from permission letters, in a fixed order. */
export function permissionWords(permissions: ReadonlySet<Permission>): string {
  const verbs = VERBS.filter(([p]) => permissions.has(p)).map(([, w]) => w);
  if (permissions.has('r') && permissions.has('s')) verbs.splice(verbs.indexOf('search'), 1);
  return verbs.length <= 1 ? (verbs[0] ?? '') : `${verbs.slice(0, -1).join(', ')} and ${verbs.at(-1)}`;
}

/** Context for the words: whether the signed-in user is the patient whose record is opened. */
export interface ScopeAudience {
  ownRecord: boolean;
}

const NON_CLINICAL: Readonly<Record<string, string | undefined>> = {
  openid: 'know who you are (your user id)',
  profile: 'see your user name',
  fhirUser: 'know which person you are in the record (your patient or practitioner entry)',
  launch: undefined,
  'launch/patient': undefined,
  offline_access: 'keep access after you close it, until you revoke it',
  online_access: 'keep access while you stay signed in',
};

/** One scope in plain words ("see your prescriptions"); undefined for scopes said elsewhere (launch). */
export function describeScope(scope: string, audience: ScopeAudience): string | undefined {
  if (scope in NON_CLINICAL) return NON_CLINICAL[scope];
  const parsed = parseScope(scope);
  if (!parsed) return `"${scope}" (not a scope FhirGate knows)`;
  const what = resourceWords(parsed.resourceType);
  const all = parsed.resourceType === '*' ? 'all ' : '';
  const limit = parsed.query ? ` (only those where ${Object.entries(parsed.query).map(([k, v]) => `${k} is ${v.join(' or ')}`).join(' and ')})` : '';
  const verbs = permissionWords(parsed.permissions);
  if (parsed.level === 'user') return `${verbs} ${all}${what}${limit} of the patients you may see`;
  if (parsed.level === 'system') return `${verbs} ${all}${what}${limit} of every patient`;
  return `${verbs} ${all}${audience.ownRecord ? 'your' : "this patient's"} ${what}${limit}`;
}

/**
 * How long an authorization lasts, from its scopes: access tokens live an hour; offline_access
 * lets the app renew until revoked (a renewal unused for 30 days lapses), online_access while the
 * user's sign-in session lasts.
 */
export function durationWords(scopes: readonly string[]): string {
  if (scopes.includes('offline_access')) return 'Until you revoke it. The app may renew its access without asking you again; if it does not use it for 30 days, the access lapses.';
  if (scopes.includes('online_access')) return 'While you stay signed in (at most 14 days). Signing out ends it.';
  return 'One hour. After that the app has to ask you again.';
}
