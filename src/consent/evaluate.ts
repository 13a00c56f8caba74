import type { Consent, ConsentProvision, Resource } from '@medplum/fhirtypes';
import type { ConsentsByPatient } from './directory.js';
import { matchProvision } from './match.js';
import { dataOf } from './question.js';
import type { ConsentDecision, ConsentDefault, ConsentQuestion } from './types.js';

type ProvisionType = 'permit' | 'deny';

export interface EvaluateOptions {
  defaultPolicy: ConsentDefault;
}

/** Whether an evaluation met a condition it could not decide (data the question lacks). */
interface Seen {
  unknown: boolean;
}

/**
 * Decides a question against a patient's Consents already known to be in force (`isConsentInForce`).
 * Each Consent is read as R4 describes it (consent.html#provision): the root provision applies when
 * its conditions match, nested provisions are exceptions to their parent, and the deepest matching
 * provision wins (siblings disagreeing: deny wins). Across Consents, deny overrides permit. When no
 * Consent has an opinion, the deployment default decides. A condition on data the question lacks
 * is not met (see `classifyConsents` for questions asked before the data is read).
 */
export function evaluateConsents(consents: readonly Consent[], q: ConsentQuestion, options: EvaluateOptions, seen: Seen = { unknown: false }): ConsentDecision {
  let permit: string | undefined;
  for (const consent of consents) {
    if (!consent.provision) continue;
    const type = evaluateProvision(consent.provision, rootType(consent), q, seen);
    const id = `Consent/${consent.id ?? ''}`;
    if (type === 'deny') return { decision: 'deny', consent: id, byDefault: false };
    if (type === 'permit') permit ??= id;
  }
  if (permit !== undefined) return { decision: 'permit', consent: permit, byDefault: false };
  return { decision: options.defaultPolicy === 'opt-in' ? 'deny' : 'permit', byDefault: true };
}

/**
 * The decision of each of `patients` (those whose data the resource is, `patientsDeciding`) on one
 * resource's own content. Reads and searches both decide resources here, so what one resource
 * reveals is decided the same way on every path; it is permitted only when every decision permits.
 */
export function decideOnResource(resource: Resource, patients: readonly string[], consents: ConsentsByPatient, q: ConsentQuestion, defaultPolicy: ConsentDefault): ConsentDecision[] {
  const question = { ...q, data: dataOf(resource) };
  return patients.map((p) => evaluateConsents(consents.get(p) ?? [], question, { defaultPolicy }));
}

/** How a patient's Consents answer a question whose data is only partly known (a search on a type). */
export type ConsentClass = { kind: 'decided'; decision: ConsentDecision } | { kind: 'depends' };

/**
 * Classifies a question with partial data. When the evaluation never reaches a condition on the
 * missing data, every resource gets the same answer, so it is `decided` once for all of them.
 * Otherwise (a provision on codes, labels, dates or instances under conditions that match) only
 * each resource's content decides: `depends`, and the search gate decides them one by one.
 */
export function classifyConsents(consents: readonly Consent[], q: ConsentQuestion, defaultPolicy: ConsentDefault): ConsentClass {
  const seen: Seen = { unknown: false };
  const decision = evaluateConsents(consents, q, { defaultPolicy }, seen);
  return seen.unknown ? { kind: 'depends' } : { kind: 'decided', decision };
}

/**
 * The root provision's type: its own `type` when set; otherwise the policy rule's (v3 ActCode
 * OPTOUT/OPTOUTE → deny, OPTIN/OPTINR and anything else → permit), which is how the R4 examples
 * (which leave the root type out) state their intent.
 */
export function rootType(consent: Consent): ProvisionType {
  if (consent.provision?.type) return consent.provision.type;
  const codes = consent.policyRule?.coding?.map((c) => c.code) ?? [];
  return codes.some((c) => c === 'OPTOUT' || c === 'OPTOUTE') ? 'deny' : 'permit';
}

function evaluateProvision(provision: ConsentProvision, inherited: ProvisionType, q: ConsentQuestion, seen: Seen): ProvisionType | undefined {
  const type = provision.type ?? inherited;
  const match = matchProvision(provision, q);
  if (match === 'unknown') seen.unknown = true;
  // Unreached provisions (under one that does not match) cannot change the answer, whatever the data.
  if (match !== 'yes') return undefined;
  const children = (provision.provision ?? []).map((child) => evaluateProvision(child, type, q, seen));
  if (children.includes('deny')) return 'deny';
  if (children.includes('permit')) return 'permit';
  return type;
}
