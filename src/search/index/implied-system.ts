import type { StructureDefinition } from '@medplum/fhirtypes';
import type { TerminologySource } from './compile-token.js';

/**
 * The code system of a plain `code` element, so that `gender=http://hl7.org/fhir/administrative-gender|male`
 * matches `"gender": "male"`: a `code` has no system of its own, it is implied by the element's
 * required binding (https://hl7.org/fhir/R4/search.html#token). Known only when the bound
 * ValueSet is held by the local terminology; each element's answer is computed once.
 */
export function createImpliedSystems(
  structureDefinitions: ReadonlyMap<string, StructureDefinition>,
  terminology: TerminologySource | undefined,
): (elementPath: string | undefined, code: string) => string | undefined {
  const cache = new Map<string, ReadonlyMap<string, string> | undefined>();

  function systemsOf(elementPath: string): ReadonlyMap<string, string> | undefined {
    if (cache.has(elementPath)) return cache.get(elementPath);
    let systems: Map<string, string> | undefined;
    const sd = structureDefinitions.get(elementPath.split('.')[0]);
    const element = sd?.snapshot?.element?.find((e) => e.path === elementPath);
    const valueSet = element?.binding?.strength === 'required' ? element.binding.valueSet : undefined;
    if (terminology && valueSet && terminology.hasValueSet(valueSet)) {
      try {
        systems = new Map();
        const ambiguous = new Set<string>();
        for (const { system, code } of terminology.expand(valueSet)) {
          if (systems.has(code) && systems.get(code) !== system) ambiguous.add(code);
          systems.set(code, system);
        }
        for (const code of ambiguous) systems.delete(code); // a code in two systems implies neither
      } catch {
        systems = undefined; // not expandable locally: no implied system
      }
    }
    cache.set(elementPath, systems);
    return systems;
  }

  return (elementPath, code) => (terminology && elementPath ? systemsOf(elementPath)?.get(code) : undefined);
}
