import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Consent, ConsentProvision, MedicationRequest } from '@medplum/fhirtypes';
import { CORPUS_DIR } from '../support/server.js';

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

export const EXAMPLES = path.join(CORPUS_DIR, 'fhir-r4/examples/Consent');
export const CODES = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

/** An official example, with its patient and its actors (Organization/f001, Practitioner/f204) replaced by ours. */
export function official(name: string, id: string, patient: string, actor: string): Consent {
  const text = readFileSync(path.join(EXAMPLES, `Consent-consent-example-${name}.json`), 'utf8')
    .replaceAll('"Organization/f001"', JSON.stringify(actor))
    .replaceAll('"Practitioner/f204"', JSON.stringify(actor));
  const example = JSON.parse(text) as Consent;
  // Attachments and signatures of the examples are irrelevant here; the provisions are the point.
  const { sourceAttachment: _a, sourceReference: _r, text: _t, ...rest } = example as Consent & Record<string, unknown>;
  return { ...(rest as Consent), id, patient: { reference: `Patient/${patient}` }, dateTime: '2020-01-01' };
}

export const d1Actor = (extra: Partial<ConsentProvision> = {}): ConsentProvision => ({
  type: 'deny',
  actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] }, reference: { reference: 'Practitioner/d1' } }],
  ...extra,
});

export type Part = 'patient' | 'mr1' | 'mr2' | 'appt';

export interface Row {
  patient: string;
  consent?: Consent;
  /** What each practitioner must not see of this patient. */
  hidden: { d1: Part[]; d2: Part[] };
}

/** K-mr1: code A, no security label, authored 2020; K-mr2: code X, labelled N (normal), authored 2024. */
export function medicationRequest(patient: string, part: 'mr1' | 'mr2'): MedicationRequest {
  return {
    resourceType: 'MedicationRequest',
    id: `${patient}-${part}`,
    status: 'active',
    intent: 'order',
    subject: { reference: `Patient/${patient}` },
    medicationCodeableConcept: { coding: [{ system: CODES, code: part === 'mr1' ? 'A' : 'X' }] },
    authoredOn: part === 'mr1' ? '2020-05-01' : '2024-05-01',
    ...(part === 'mr2' ? { meta: { security: [{ system: CONFIDENTIALITY, code: 'N' }] } } : {}),
  };
}

