import type { Resource } from '@medplum/fhirtypes';
import type { Compartment } from '../search/compartment.js';
import type { SearchIndex } from '../search/types.js';
import type { Filter } from '../store/port.js';

const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * Every patient a resource references anywhere, and the Patient itself: whom an AuditEvent of an
 * access names. The consent gate decides on `patientsIn`, which searches can filter on.
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

/**
 * Where the consent gate looks for the patients whose data a resource is (issue 15): for each served
 * type, every reference search parameter that can point at a Patient (the Patient compartment's and
 * more, e.g. MedicationRequest `performer`); a Consent's only by its `patient`. Reads decide on the
 * patients these parameters hold (`patientsIn`) and searches filter on the same parameters, so a
 * read and a search can never disagree on one resource.
 */
export function consentCompartment(patientCompartment: Compartment, index: SearchIndex, types: readonly string[]): Compartment {
  const members = new Map<string, readonly string[]>();
  for (const type of types) {
    const own = patientCompartment.members.get(type) ?? [];
    const toPatient = [...index.params(type).values()].filter((p) => p.type === 'reference' && p.target?.includes(patientCompartment.type)).map((p) => p.code);
    const params = type === 'Consent' ? own : [...new Set([...own, ...toPatient])];
    if (params.length > 0 || type === patientCompartment.type) members.set(type, params);
  }
  return { type: patientCompartment.type, members };
}

/** The patients (ids) a resource names in the parameters of `compartment`, the Patient itself included. */
export function patientsIn(compartment: Compartment, index: SearchIndex, resource: Resource): string[] {
  const found = new Set<string>();
  if (resource.resourceType === compartment.type && resource.id) found.add(resource.id);
  const params = compartment.members.get(resource.resourceType) ?? [];
  if (params.length === 0) return [...found];
  const record = { resourceType: resource.resourceType, index: index.extract(resource) };
  for (const code of params) {
    for (const reference of index.referencesOf(record, code)) {
      const match = PATIENT_REFERENCE.exec(reference);
      if (match) found.add(match[1]);
    }
  }
  return [...found];
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
