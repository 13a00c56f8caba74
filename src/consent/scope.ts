import type { Resource } from '@medplum/fhirtypes';
import type { Compartment } from '../search/compartment.js';
import type { SearchIndex } from '../search/types.js';
import type { Filter } from '../store/port.js';

const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * The patients whose data a resource is: the Patient itself, and every patient it references
 * anywhere. Broader than the compartment definition on purpose: a Consent withholding a patient's
 * data then also covers resources that only mention them.
 */
export function patientsOf(resource: Resource): string[] {
  const found = new Set<string>();
  if (resource.resourceType === 'Patient' && resource.id) found.add(resource.id);
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'reference' && typeof inner === 'string') {
          const match = PATIENT_REFERENCE.exec(inner);
          if (match) found.add(match[1]);
        } else walk(inner);
      }
    }
  };
  // A Consent is its patient's record; the actors it names are not patients whose data it holds.
  walk(resource.resourceType === 'Consent' ? { patient: (resource as { patient?: unknown }).patient } : resource);
  return [...found];
}

/** The patients whose Consents decide an access to `resource`: all of `patientsOf`, but the requester's own record. */
export function patientsDeciding(resource: Resource, self: string | undefined): string[] {
  return patientsOf(resource).filter((p) => p !== self);
}

/** Resources of `type` in none of these patients' compartments (opt-out: the denied are excluded). */
export function patientExclusion(compartment: Compartment, index: SearchIndex, patients: readonly string[], type: string): Filter | undefined {
  const params = compartment.members.get(type);
  if (!params) return undefined;
  const refs = patients.map((p) => `${compartment.type}/${p}`);
  const parts: Filter[] = params.map((p) => negate(index.compileReferenceIn(type, p, refs)));
  if (type === compartment.type) parts.push({ id: { $nin: [...patients] } });
  return parts.length === 1 ? parts[0] : { $and: parts };
}

/** Resources of `type` in one of these patients' compartments (opt-in: only the permitted are searched). */
export function patientInclusion(compartment: Compartment, index: SearchIndex, patients: readonly string[], type: string): Filter | undefined {
  const params = compartment.members.get(type);
  if (!params) return undefined;
  const refs = patients.map((p) => `${compartment.type}/${p}`);
  const parts: Filter[] = params.map((p) => index.compileReferenceIn(type, p, refs));
  if (type === compartment.type) parts.push({ id: { $in: [...patients] } });
  return parts.length === 1 ? parts[0] : { $or: parts };
}

/** `{ field: { $in: [...] } }` (what `compileReferenceIn` builds) → `{ field: { $nin: [...] } }`. */
function negate(filter: Filter): Filter {
  const entries = Object.entries(filter);
  const [field, condition] = entries[0] ?? [];
  if (entries.length !== 1 || !field || typeof condition !== 'object' || condition === null || !('$in' in condition)) {
    throw new Error('consent: unexpected reference filter shape');
  }
  return { [field]: { $nin: (condition as { $in: unknown[] }).$in } };
}
