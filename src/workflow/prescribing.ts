import type { MedicationRequest } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { WriteOp } from '../store/port.js';
import { isPerson } from './reads.js';
import type { RuleInput } from './types.js';

/**
 * Issue 17, item 1: a person may prescribe only in their own name. The requester a signed-in user
 * sets (or changes) must be their fhirUser; backend services (the HL7 v2 feed, system tokens) relay
 * orders of others. An update that keeps the requester (a colleague stopping the order) is not a new prescription.
 */
export async function prescriberIsSignedIn(input: RuleInput): Promise<WriteOp[]> {
  const requester = (input.resource as MedicationRequest).requester?.reference;
  const before = (input.previous as MedicationRequest | undefined)?.requester?.reference;
  if (requester === undefined || requester === before || !isPerson(input.request)) return [];
  const actor = input.request.context.actor;
  if (actor === undefined || !(requester === actor || requester.endsWith(`/${actor}`))) {
    throw new FhirError('requester-mismatch', `The requester ${requester} is not the signed-in user${actor ? ` (${actor})` : ''}`, { expression: ['MedicationRequest.requester'] });
  }
  return [];
}
