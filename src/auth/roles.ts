import type { Permission } from './scopes.js';

/**
 * FhirGate's roles and what each may do, kept as data (issue 7). A request needs both a scope
 * granting it and a role permitting it; the README's role table is generated from this one
 * (`roleTableMarkdown`) and a test keeps the two equal.
 */
export const ROLES = ['admin', 'practitioner', 'pharmacist', 'receptionist', 'patient'] as const;
export type Role = (typeof ROLES)[number];

export interface RoleRule {
  /** Resource type → SMART v2 permission letters (`cruds`); a type not listed is refused. */
  resources: Readonly<Record<string, string>>;
  /** Confined to the compartment of the user's own Patient resource (their `fhirUser`). */
  ownCompartment?: boolean;
  /** Manages user accounts and OAuth clients of the embedded authorization server. */
  administers?: boolean;
  /** Operations beyond the type permissions (`$merge`, reports; issue 18), by name without `$`; see `src/auth/operation-access.ts`. */
  operations?: readonly string[];
}

/** The report operations (src/reports), for the role table below. */
const REPORTS = { newPatients: 'new-patients', prescriptions: 'prescriptions-by-practitioner', dispenses: 'dispenses-by-medication', appointments: 'appointment-load' } as const;

/**
 * Types beyond the core ones that clinicians and patients read (issue 17: records loaded from EHRs
 * and Synthea). Written by backend services (feeds, imports); no role writes them yet.
 */
const CLINICAL_READ: Readonly<Record<string, string>> = {
  Organization: 'rs',
  Location: 'rs',
  PractitionerRole: 'rs',
  Medication: 'rs',
  Encounter: 'rs',
  Observation: 'rs',
  Condition: 'rs',
  AllergyIntolerance: 'rs',
};

/**
 * Users create Subscriptions and are notified as themselves (issue 18, `src/subscriptions/`). Only
 * create: a Subscription's `channel.header` may carry the endpoint's credentials and nothing yet
 * confines reads to the Subscription's owner, so reading, changing or deleting one is for backend services.
 */
const SUBSCRIBE: Readonly<Record<string, string>> = { Subscription: 'c' };

export const ROLE_TABLE: Readonly<Record<Role, RoleRule>> = {
  // Admins run the installation: users, clients, staff directory, the audit trail; no clinical data.
  // Admins also merge duplicate Patients and read every report: counts, not clinical records.
  admin: { resources: { Practitioner: 'cruds', AuditEvent: 'rs', ...SUBSCRIBE }, administers: true, operations: ['merge', ...Object.values(REPORTS)] },
  // Only practitioners prescribe.
  practitioner: {
    resources: { Patient: 'rs', Practitioner: 'rs', MedicationRequest: 'cruds', MedicationDispense: 'rs', Consent: 'cruds', Appointment: 'rs', Schedule: 'rs', Slot: 'rs', ...CLINICAL_READ, ...SUBSCRIBE },
    operations: ['merge'],
  },
  // Only pharmacists dispense; they read the prescriptions they fill.
  pharmacist: { resources: { Patient: 'rs', Practitioner: 'rs', MedicationRequest: 'rs', MedicationDispense: 'cruds', ...SUBSCRIBE }, operations: [REPORTS.prescriptions, REPORTS.dispenses] },
  // Front desk: demographics and the schedule, no medication data.
  receptionist: { resources: { Patient: 'crus', Practitioner: 'rs', Appointment: 'cruds', Consent: 'rs', Schedule: 'cruds', Slot: 'cruds' } },
  // Patients read their own record, manage their own consents, find free slots and book or cancel their own appointments (issue 17).
  patient: {
    resources: { Patient: 'rs', Practitioner: 'rs', MedicationRequest: 'rs', MedicationDispense: 'rs', Consent: 'cruds', Appointment: 'crus', AuditEvent: 'rs', Schedule: 'rs', Slot: 'rs', ...CLINICAL_READ, ...SUBSCRIBE },
    ownCompartment: true,
  },
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether any of `roles` permits `permission` on `resourceType`. */
export function rolePermits(roles: readonly Role[], resourceType: string, permission: Permission): boolean {
  return roles.some((role) => ROLE_TABLE[role].resources[resourceType]?.includes(permission) ?? false);
}

/** Whether any of `roles` may run the operation `name` (without `$`). */
export function roleRunsOperation(roles: readonly Role[], name: string): boolean {
  return roles.some((role) => ROLE_TABLE[role].operations?.includes(name) ?? false);
}

/** Every type some role may use, in the order given (the core types), then as the table names them. */
export function roleTypes(first: readonly string[]): string[] {
  return [...new Set([...first, ...ROLES.flatMap((role) => Object.keys(ROLE_TABLE[role].resources))])];
}

/** The README's role table: one row per resource type, one column per role. */
export function roleTableMarkdown(resourceTypes: readonly string[]): string {
  const header = `| Resource | ${ROLES.join(' | ')} |`;
  const rule = `|---|${ROLES.map(() => '---').join('|')}|`;
  const rows = resourceTypes.map((type) => `| ${type} | ${ROLES.map((r) => ROLE_TABLE[r].resources[type] ?? '—').join(' | ')} |`);
  const notes = [
    `| *own compartment only* | ${ROLES.map((r) => (ROLE_TABLE[r].ownCompartment ? 'yes' : '')).join(' | ')} |`,
    `| *users and clients* | ${ROLES.map((r) => (ROLE_TABLE[r].administers ? 'manage' : '')).join(' | ')} |`,
    `| *operations* | ${ROLES.map((r) => (ROLE_TABLE[r].operations ?? []).map((o) => `$${o}`).join(', ')).join(' | ')} |`,
  ];
  return [header, rule, ...rows, ...notes].join('\n');
}
