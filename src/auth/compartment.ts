import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import type { Compartment } from '../search/compartment.js';
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

/**
 * Builds the membership check from THE compartment (`src/search/compartment.ts`, the one search
 * and consent use too, issue 16): which types are members and by which parameters is decided there
 * once; here those parameters are evaluated on a resource before it is returned or written.
 */
export function createCompartmentCheck(compartment: Compartment, searchParameters: readonly SearchParameter[]): CompartmentCheck {
  const paths = createParamPaths(searchParameters);
  const members = new Map<string, ParamPath[]>();
  for (const [type, params] of compartment.members) {
    const linking = params.flatMap((code) => paths(type, code) ?? []);
    if (linking.length > 0 || type === compartment.type) members.set(type, linking);
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
