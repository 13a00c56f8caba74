import type { Bundle, Consent, ConsentProvision } from '@medplum/fhirtypes';

/** `Type/id` of the searchset's resources (outcome entries left out). */
export const ids = (bundle: Bundle | undefined): string[] =>
  (bundle?.entry ?? []).filter((e) => e.search?.mode !== 'outcome' && e.resource).map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);

/** An active patient-privacy Consent of `patient` with the given root provision. */
export function privacyConsent(id: string, patient: string, provision: ConsentProvision, status: Consent['status'] = 'active'): Consent {
  return {
    resourceType: 'Consent',
    id,
    status,
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patient}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision,
  };
}

/** A provision about one actor: `deny` withholds, `permit` grants. */
export const aboutActor = (type: 'deny' | 'permit', reference: string): ConsentProvision => ({
  type,
  actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] }, reference: { reference } }],
});
