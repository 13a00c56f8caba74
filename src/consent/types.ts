import type { Coding } from '@medplum/fhirtypes';

/** Deployment default when no Consent decides (CONSENT_DEFAULT): opt-out permits unless denied, opt-in denies unless permitted. */
export type ConsentDefault = 'opt-out' | 'opt-in';

/** consentaction codes (http://terminology.hl7.org/CodeSystem/consentaction) a request performs. */
export type ConsentAction = 'collect' | 'access' | 'use' | 'disclose' | 'correct';

/** The data a request touches; every field is optional because a search decides before it sees resources. */
export interface ConsentData {
  /** `Type/id` of the resource, matched against `provision.data.reference`. */
  reference?: string;
  resourceType?: string;
  /** `meta.profile` canonicals, matched against `provision.class` like the resource type. */
  profiles?: readonly string[];
  /** Codes of the resource (code, type, category), matched against `provision.code`. */
  codes?: readonly Coding[];
  /** `meta.security`, matched against `provision.securityLabel`. */
  securityLabels?: readonly Coding[];
  /** Clinically relevant date of the resource (ISO), matched against `provision.dataPeriod`. */
  date?: string;
}

/** Who asks what, why, about which data: the input of a consent decision. */
export interface ConsentQuestion {
  /** References that identify the requester: fhirUser, and the PractitionerRoles and Organizations it acts for (`affiliations.ts`). */
  actor: readonly string[];
  /** FhirGate roles of the requester, matched against actor roles coded in ROLE_SYSTEM. */
  roles: readonly string[];
  actions: readonly ConsentAction[];
  /** v3 PurposeOfUse codes (token or `X-Purpose-Of-Use`). */
  purposeOfUse: readonly string[];
  data: ConsentData;
  now: Date;
}

export interface ConsentDecision {
  decision: 'permit' | 'deny';
  /** `Consent/id` that decided, absent when the deployment default did. */
  consent?: string;
  /** Whether the deployment default decided (no applicable Consent had an opinion). */
  byDefault: boolean;
}

/** Coding system for FhirGate roles in `Consent.provision.actor.role`, so a Consent can name a role rather than a person. */
export const ROLE_SYSTEM = 'https://fhirgate.dev/fhir/CodeSystem/role';

/** What the consent step noted about one request, for its audit record (kept on the request's exchange). */
export interface ConsentNote {
  breakGlass: boolean;
  /** `Consent/id`s that decided: a permit, a deny, a break-glass override, what a search withheld. */
  consents: string[];
}

/** An empty note, for a new exchange. */
export function emptyConsentNote(): ConsentNote {
  return { breakGlass: false, consents: [] };
}
