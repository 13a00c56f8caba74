import type { CodeableConcept, Medication, MedicationDispense, MedicationRequest } from '@medplum/fhirtypes';
import type { PipelineDeps } from '../fhir/pipeline.js';
import type { WorkflowRequest as FhirRequest } from './types.js';
import { readLive, targetId } from './reads.js';

type MedicationHolder = Pick<MedicationDispense | MedicationRequest, 'medicationCodeableConcept' | 'medicationReference'>;

interface MedicationIdentity {
  reference?: string;
  codes: Set<string>;
  text?: string;
}

/**
 * Whether a dispense is of the prescribed medication: the same Medication resource, or a shared
 * coding (system|code), or, where neither side is coded, the same text. A referenced Medication is
 * read for its code, so a coded order matches a dispense of a Medication with that code.
 */
export async function sameMedication(deps: PipelineDeps, request: FhirRequest, a: MedicationHolder, b: MedicationHolder): Promise<boolean> {
  const [x, y] = await Promise.all([identityOf(deps, request, a), identityOf(deps, request, b)]);
  if (x.reference !== undefined && x.reference === y.reference) return true;
  if ([...x.codes].some((c) => y.codes.has(c))) return true;
  return x.codes.size === 0 && y.codes.size === 0 && x.text !== undefined && x.text === y.text;
}

async function identityOf(deps: PipelineDeps, request: FhirRequest, holder: MedicationHolder): Promise<MedicationIdentity> {
  const concept = holder.medicationCodeableConcept;
  const id = targetId(holder.medicationReference, 'Medication');
  if (!id) return fromConcept(concept);
  const medication = deps.registry.has('Medication') ? await readLive<Medication>(deps, request, 'Medication', id) : undefined;
  return { ...fromConcept(medication?.resource.code), reference: `Medication/${id}` };
}

function fromConcept(concept: CodeableConcept | undefined): MedicationIdentity {
  const codes = new Set((concept?.coding ?? []).filter((c) => c.code).map((c) => `${c.system ?? ''}|${c.code}`));
  return { codes, text: concept?.text?.trim().toLowerCase() };
}
