import type { CompartmentDefinition, Resource, SearchParameter } from '@medplum/fhirtypes';
import { createParamPaths, pointsTo, referencesIn, type ParamPath } from './resource-paths.js';

/**
 * The compartment an authorized request is confined to (SMART `patient/` scopes, the patient role).
 * Put on the request context so every step can honour it: the authorizer for reads and writes,
 * search as an extra filter (search.html#compartments).
 */
export interface CompartmentRef {
  type: 'Patient';
  id: string;
}

export interface CompartmentCheck {
  /** Whether resources of this type can belong to the compartment at all. */
  hasMembers(resourceType: string): boolean;
  /** Whether the resource is in the compartment of `compartment` (compartmentdefinition-patient.html). */
  contains(resource: Resource, compartment: CompartmentRef): boolean;
}

/** Builds the membership check from the official Patient CompartmentDefinition and the search parameters it names. */
export function createCompartmentCheck(definition: CompartmentDefinition, searchParameters: readonly SearchParameter[]): CompartmentCheck {
  const paths = createParamPaths(searchParameters);
  const members = new Map<string, ParamPath[]>();
  for (const entry of definition.resource ?? []) {
    const linking = (entry.param ?? []).flatMap((code) => paths(entry.code, code) ?? []);
    if (linking.length > 0 || entry.code === definition.code) members.set(entry.code, linking);
  }
  return {
    hasMembers: (resourceType) => members.has(resourceType),
    contains(resource, compartment) {
      if (resource.resourceType === compartment.type && resource.id === compartment.id) return true;
      const linking = members.get(resource.resourceType) ?? [];
      return linking.some((path) => referencesIn(path.values(resource)).some((ref) => pointsTo(ref, compartment.type, compartment.id)));
    },
  };
}
