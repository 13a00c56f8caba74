import type { CompartmentDefinition } from '@medplum/fhirtypes';
import type { Filter } from '../store/port.js';
import type { SearchIndex } from './types.js';

/**
 * A compartment definition reduced to its members: for each member type, the parameters linking it.
 * THE compartment of FhirGate (issue 16): built once in `app.ts`, it decides membership for
 * authorization (`auth/compartment.ts` evaluates these parameters on a resource), search (as a
 * filter, below) and consent (`consent/scope.ts` widens it to every reference to a patient).
 */
export interface Compartment {
  /** The compartment's type, e.g. `Patient`. */
  type: string;
  /** Member types (among the served ones) and their linking reference parameters. */
  members: ReadonlyMap<string, readonly string[]>;
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
 * The filter of the resources of `type` in the compartment of `id` (search.html#compartments):
 * any linking parameter referencing the compartment's resource, OR-ed; undefined when `type`
 * cannot be in the compartment.
 */
export function compartmentFilter(compartment: Compartment, index: SearchIndex, id: string, type: string): Filter | undefined {
  const params = compartment.members.get(type);
  if (!params) return undefined;
  const owner = `${compartment.type}/${id}`;
  const branches: Filter[] = params.map((p) => index.compileReferenceIn(type, p, [owner]));
  if (type === compartment.type) branches.push({ id });
  return branches.length === 1 ? branches[0] : { $or: branches };
}
