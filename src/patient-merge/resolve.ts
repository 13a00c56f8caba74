import type { Identifier, Parameters, Patient } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { decode, liveOf, loadCurrent } from '../fhir/loader.js';
import { inputNamed, inputsNamed } from '../fhir/operation-parameters.js';
import type { PipelineDeps } from '../fhir/pipeline.js';

const OP = 'Patient/$merge';

/** `identifier=system|value` as a token search value (search.html#token, escaping `\`, `|`, `,`, `$`). */
export function tokenValue(id: Identifier): string {
  const esc = (s: string): string => s.replace(/[\\|,$]/g, (c) => `\\${c}`);
  return id.system ? `${esc(id.system)}|${esc(id.value!)}` : esc(id.value!);
}

/**
 * The Patient a merge input names (`source-patient` / `target-patient` as a Reference, or
 * `...-identifier` as Identifiers that must all match one and the same Patient), as stored.
 * Found through the identifier index, never by scanning.
 */
export async function resolvePatient(deps: PipelineDeps, input: Parameters, role: 'source' | 'target'): Promise<Patient & { id: string }> {
  const reference = inputNamed(input, `${role}-patient`, OP)?.valueReference?.reference;
  const identifiers = inputsNamed(input, `${role}-patient-identifier`).map((p) => p.valueIdentifier);
  if (reference !== undefined && identifiers.length > 0) throw new FhirError('bad-request', `${OP}: give ${role}-patient or ${role}-patient-identifier, not both`);
  if (reference !== undefined) {
    const id = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference)?.[1];
    if (!id) throw new FhirError('bad-request', `${OP}: ${role}-patient must be a reference of the form Patient/[id]`);
    return { ...((await decode(deps, liveOf('Patient', id, await loadCurrent(deps, 'Patient', id)))) as Patient), id };
  }
  if (identifiers.length === 0) throw new FhirError('bad-request', `${OP}: ${role}-patient or ${role}-patient-identifier is required`);
  if (identifiers.some((i) => !i?.value)) throw new FhirError('bad-request', `${OP}: every ${role}-patient-identifier needs a value`);
  const filters = identifiers.map((i) => deps.searchIndex.compile('Patient', 'identifier', undefined, [tokenValue(i!)]));
  const records = await deps.store.find('current', { $and: [{ resourceType: 'Patient', deleted: false }, ...filters] }, { limit: 2 });
  if (records.length === 0) throw new FhirError('not-found', `${OP}: no Patient has the ${role}-patient-identifier given`);
  if (records.length > 1) throw new FhirError('invalid-resource', `${OP}: several Patients have the ${role}-patient-identifier given; name the ${role} by reference`);
  return { ...((await decode(deps, records[0])) as Patient), id: records[0].id };
}
