import type { Consent, ConsentProvision } from '@medplum/fhirtypes';
import { matchProvision } from './match.js';
import type { ConsentDecision, ConsentDefault, ConsentQuestion, UnknownDataMode } from './types.js';

type ProvisionType = 'permit' | 'deny';

export interface EvaluateOptions {
  defaultPolicy: ConsentDefault;
  /**
   * `strict` (default): a condition on data the question lacks is not met. `conservative`: for a
   * decision made before the data is known (a search filter), such a condition is taken as met by
   * deny provisions and as not met by permit provisions, so the answer can only err towards deny.
   */
  unknownData?: UnknownDataMode;
}

/**
 * Decides a question against a patient's Consents already known to be in force (`isConsentInForce`).
 * Each Consent is read as R4 describes it (consent.html#provision): the root provision applies when
 * its conditions match, nested provisions are exceptions to their parent, and the deepest matching
 * provision wins (siblings disagreeing: deny wins). Across Consents, deny overrides permit. When no
 * Consent has an opinion, the deployment default decides.
 */
export function evaluateConsents(consents: readonly Consent[], q: ConsentQuestion, options: EvaluateOptions): ConsentDecision {
  const mode = options.unknownData ?? 'strict';
  let permit: string | undefined;
  for (const consent of consents) {
    if (!consent.provision) continue;
    const type = evaluateProvision(consent.provision, rootType(consent), q, mode);
    const id = `Consent/${consent.id ?? ''}`;
    if (type === 'deny') return { decision: 'deny', consent: id, byDefault: false };
    if (type === 'permit') permit ??= id;
  }
  if (permit !== undefined) return { decision: 'permit', consent: permit, byDefault: false };
  return { decision: options.defaultPolicy === 'opt-in' ? 'deny' : 'permit', byDefault: true };
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

function evaluateProvision(provision: ConsentProvision, inherited: ProvisionType, q: ConsentQuestion, mode: UnknownDataMode): ProvisionType | undefined {
  const type = provision.type ?? inherited;
  const match = matchProvision(provision, q);
  if (match === 'no' || (match === 'unknown' && mode === 'strict')) return undefined;
  const children = (provision.provision ?? []).map((child) => evaluateProvision(child, type, q, mode));
  if (children.includes('deny')) return 'deny';
  if (match === 'unknown') {
    // Conservative: an unknown match may only ever deny.
    return type === 'deny' ? 'deny' : undefined;
  }
  if (children.includes('permit')) return 'permit';
  return type;
}
