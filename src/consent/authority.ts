import type { Consent, ConsentProvision } from '@medplum/fhirtypes';
import { isRole, ROLE_TABLE, ROLES, type Role } from '../auth/roles.js';

type ConsentStatus = NonNullable<Consent['status']>;
const EVERY_STATUS: readonly ConsentStatus[] = ['draft', 'proposed', 'active', 'rejected', 'inactive', 'entered-in-error'];

/**
 * Who may decide a patient's Consents (issue 15): the patient, never the people the Consent is
 * about. Kept as data like the role table (`src/auth/roles.ts`), which still decides whether a role
 * may touch Consent at all; this table decides which Consents, and to what status.
 */
export interface ConsentAuthorityRule {
  /**
   * Which Consents: `own-record` those whose `patient` is the requester's own Patient (`fhirUser`);
   * `own-request` access requests, whose every `provision.actor` reference is the requester.
   */
  about: 'own-record' | 'own-request';
  /** The statuses such a Consent may be written with, and be in when it is changed or deleted. */
  statuses: readonly ConsentStatus[];
  /** Whether such a Consent may be deleted (a practitioner withdrawing a request). */
  withdraw: boolean;
}

/**
 * Roles not listed have no say over any Consent (admin, pharmacist, receptionist): at most they
 * read what the role table lets them. Tokens without a FhirGate role (backend services, the HL7 v2
 * feed) are the deployment's own systems and are not subject to this table.
 */
export const CONSENT_AUTHORITY: Readonly<Partial<Record<Role, ConsentAuthorityRule>>> = {
  patient: { about: 'own-record', statuses: EVERY_STATUS, withdraw: true },
  practitioner: { about: 'own-request', statuses: ['proposed'], withdraw: true },
};

/** Who writes: FhirGate roles of the token (others ignored) and its `fhirUser`. */
export interface ConsentAuthor {
  roles: readonly string[];
  actor?: string;
}

/**
 * Why `author` may not turn `before` (the stored Consent, absent on create) into `after` (absent on
 * delete); undefined when some role of the author's may. Only role holders are asked.
 */
export function consentWriteRefusal(author: ConsentAuthor, before: Consent | undefined, after: Consent | undefined): string | undefined {
  const rules = author.roles.filter(isRole).flatMap((r) => (CONSENT_AUTHORITY[r] ? [CONSENT_AUTHORITY[r]] : []));
  if (rules.length === 0) return `Role ${author.roles.join(', ')} has no say over a patient's Consents; only the patient decides them`;
  const allowed = rules.some((rule) => (after !== undefined || rule.withdraw) && [before, after].every((c) => c === undefined || fits(rule, author.actor, c)));
  if (allowed) return undefined;
  return rules.some((r) => r.about === 'own-request')
    ? 'A practitioner may only request access: a Consent with status proposed whose every provision.actor is themselves, and withdraw it; the patient decides it'
    : 'Only the patient the Consent is about may write it';
}

/** Whether `actor` may read `consent` through a rule that confines Consents (undefined: no rule confines the author's reads). */
export function consentReadable(author: ConsentAuthor, consent: Consent): boolean {
  const readers = author.roles.filter(isRole).filter((r) => ROLE_TABLE[r].resources.Consent?.includes('r'));
  // A reader without a rule (receptionist, per the role table) reads what the consent gate lets them.
  return readers.some((r) => {
    const rule = CONSENT_AUTHORITY[r];
    return !rule || rule.about === 'own-record' || (author.actor !== undefined && actorsOf(consent.provision).includes(author.actor));
  });
}

/** The actor whose requests are all the author may read of Consent (undefined when reads are not confined so). */
export function consentReadsConfinedTo(author: ConsentAuthor): string | undefined {
  const readers = author.roles.filter(isRole).filter((r) => ROLE_TABLE[r].resources.Consent?.includes('r'));
  const confined = readers.length > 0 && readers.every((r) => CONSENT_AUTHORITY[r]?.about === 'own-request');
  return confined ? (author.actor ?? '') : undefined;
}

function fits(rule: ConsentAuthorityRule, actor: string | undefined, consent: Consent): boolean {
  if (!rule.statuses.includes(consent.status as ConsentStatus)) return false;
  if (actor === undefined) return false;
  if (rule.about === 'own-record') return consent.patient?.reference === actor;
  const actors = actorsOf(consent.provision);
  return actors.length > 0 && actors.every((a) => a === actor);
}

/** Every `provision.actor.reference` of a provision tree. */
function actorsOf(provision: ConsentProvision | undefined): string[] {
  if (!provision) return [];
  const own = (provision.actor ?? []).map((a) => a.reference?.reference ?? '');
  return [...own, ...(provision.provision ?? []).flatMap(actorsOf)];
}

/** The README's table of who decides Consents, generated from `CONSENT_AUTHORITY` (a test keeps the two equal). */
export function consentAuthorityMarkdown(): string {
  const rows = ROLES.map((role) => {
    const rule = CONSENT_AUTHORITY[role];
    if (!rule) return `| ${role} | — | — | — |`;
    const which = rule.about === 'own-record' ? 'about their own Patient' : 'access requests naming only themselves as actor';
    return `| ${role} | ${which} | ${rule.statuses.join(', ')} | ${rule.withdraw ? 'yes' : 'no'} |`;
  });
  return ['| Role | Which Consents | Statuses they may write | Delete |', '|---|---|---|---|', ...rows].join('\n');
}
