import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import type { Filter } from '../store/port.js';
import type { SearchIndex } from './types.js';

/**
 * THE compartment of FhirGate (issue 16, item 4): what "in Patient X's compartment", "the patients a
 * resource belongs to" and "the compartment as a search filter" mean, decided here once for
 * authorization (SMART `patient/` scopes, the patient role), search (compartment search,
 * $everything) and consent (whose Consents decide on a resource, what a search withholds).
 * Membership is read with the search index's own extraction (`SearchIndex.referencesIn`), so a
 * resource is in a compartment for a read exactly when a search's filter finds it there.
 */

/** A compartment definition reduced to its members: for each member type, the parameters linking it. */
export interface Compartment {
  /** The compartment's type, e.g. `Patient`. */
  type: string;
  /** Member types (among the served ones) and their linking reference parameters. */
  members: ReadonlyMap<string, readonly string[]>;
}

/** One compartment instance a request is confined to (SMART `patient/` scopes, the patient role). */
export interface CompartmentRef {
  type: 'Patient';
  id: string;
}

/**
 * The compartment of the official CompartmentDefinition (compartmentdefinition.html), restricted to
 * the served types and to the parameters the index knows. The compartment's own type is a member
 * too: the resource that defines the compartment belongs to it.
 */
export function compartmentOf(definition: CompartmentDefinition, index: SearchIndex, servedTypes: readonly string[]): Compartment {
  const members = new Map<string, string[]>();
  for (const resource of definition.resource ?? []) {
    if (!servedTypes.includes(resource.code)) continue;
    const known = index.params(resource.code);
    const params = (resource.param ?? []).filter((p) => known.get(p)?.type === 'reference');
    if (params.length > 0 || resource.code === definition.code) members.set(resource.code, params);
  }
  return { type: definition.code, members };
}

/**
 * The compartment widened to every reference to its type (issue 15, where consent looks for the
 * patients whose data a resource is): for each served type, the compartment's parameters and every
 * other reference parameter that can point at the compartment's type (e.g. MedicationRequest
 * `performer`); a Consent's only by its compartment parameters (its `patient`, not the actors it names).
 */
export function widenedCompartment(compartment: Compartment, index: SearchIndex, types: readonly string[]): Compartment {
  const members = new Map<string, readonly string[]>();
  for (const type of types) {
    const own = compartment.members.get(type) ?? [];
    const toOwner = [...index.params(type).values()].filter((p) => p.type === 'reference' && p.target?.includes(compartment.type)).map((p) => p.code);
    const params = type === 'Consent' ? own : [...new Set([...own, ...toOwner])];
    if (params.length > 0 || type === compartment.type) members.set(type, params);
  }
  return { type: compartment.type, members };
}

/** The ids of the compartment instances `resource` is in: the ones its linking parameters reference, and itself for the compartment's type. */
export function ownersOf(compartment: Compartment, index: SearchIndex, resource: Resource): string[] {
  const found = new Set<string>();
  if (resource.resourceType === compartment.type && resource.id) found.add(resource.id);
  const params = compartment.members.get(resource.resourceType) ?? [];
  if (params.length === 0) return [...found];
  const prefix = `${compartment.type}/`;
  for (const reference of index.referencesIn(resource, params)) if (reference.startsWith(prefix)) found.add(reference.slice(prefix.length));
  return [...found];
}

/** Whether `resource` is in the compartment of `ref` (compartmentdefinition-patient.html). */
export function inCompartment(compartment: Compartment, index: SearchIndex, resource: Resource, ref: CompartmentRef): boolean {
  return ref.type === compartment.type && ownersOf(compartment, index, resource).includes(ref.id);
}

/**
 * The filter of the resources of `type` in the compartment of any of `ids` (search.html#compartments):
 * any linking parameter referencing one of them, OR-ed; undefined when `type` cannot be in the compartment.
 */
export function compartmentFilter(compartment: Compartment, index: SearchIndex, ids: readonly string[], type: string): Filter | undefined {
  const params = compartment.members.get(type);
  if (!params) return undefined;
  const owners = ids.map((id) => `${compartment.type}/${id}`);
  const branches: Filter[] = params.map((p) => index.compileReferenceIn(type, p, owners));
  if (type === compartment.type) branches.push(ids.length === 1 ? { id: ids[0] } : { id: { $in: [...ids] } });
  return branches.length === 1 ? branches[0] : { $or: branches };
}

/** The filter of the resources of `type` in none of these compartments; undefined when `type` cannot be in the compartment. */
export function outsideCompartmentsFilter(compartment: Compartment, index: SearchIndex, ids: readonly string[], type: string): Filter | undefined {
  const params = compartment.members.get(type);
  if (!params) return undefined;
  const owners = ids.map((id) => `${compartment.type}/${id}`);
  const parts: Filter[] = params.map((p) => negate(index.compileReferenceIn(type, p, owners)));
  if (type === compartment.type) parts.push({ id: { $nin: [...ids] } });
  return parts.length === 1 ? parts[0] : { $and: parts };
}

/** `{ field: { $in: [...] } }` (what `compileReferenceIn` builds) → `{ field: { $nin: [...] } }`. */
function negate(filter: Filter): Filter {
  const entries = Object.entries(filter);
  const [field, condition] = entries[0] ?? [];
  if (entries.length !== 1 || !field || typeof condition !== 'object' || condition === null || !('$in' in condition)) {
    throw new Error('compartment: unexpected reference filter shape');
  }
  return { [field]: { $nin: (condition as { $in: unknown[] }).$in } };
}

const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * Every patient a resource references anywhere, and the Patient itself: wider than any compartment,
 * this is whom the audit trail of an access names (and whom an export reports), so that a patient's
 * "who looked at my record" misses nothing that mentions them. A Consent names only its `patient`:
 * the actors it names are not patients whose data it holds.
 */
export function patientsNamedBy(resource: Resource): string[] {
  const found = new Set<string>();
  if (resource.resourceType === 'Patient' && resource.id) found.add(resource.id);
  // Called on every resource a request returns (a search page's 20 Patients, the audit trail's
  // entities): no entry arrays, and only objects are descended into (issue 13).
  const walk = (value: object): void => {
    if (Array.isArray(value)) {
      for (const item of value) if (item !== null && typeof item === 'object') walk(item as object);
      return;
    }
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      const inner = object[key];
      if (typeof inner === 'string') {
        if (key !== 'reference') continue;
        const match = PATIENT_REFERENCE.exec(inner);
        if (match) found.add(match[1]);
      } else if (inner !== null && typeof inner === 'object') walk(inner);
    }
  };
  walk(resource.resourceType === 'Consent' ? { patient: (resource as { patient?: unknown }).patient } : resource);
  return [...found];
}
