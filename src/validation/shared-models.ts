import type { R4Definitions } from '../fhir/definitions.js';
import { ModelRegistry } from './model-registry.js';
import { StructureValidator } from './structure.js';

/** The expensive, immutable parts of validation that depend only on the R4 definitions. */
export interface SharedModels {
  readonly structure: StructureValidator;
  readonly registry: ModelRegistry;
}

// Compiling the schema and the invariants takes a few hundred milliseconds. Tests start
// several servers from the same definitions object, so the compiled parts are shared per
// definitions object; being keyed weakly, they go away with it.
const cache = new WeakMap<R4Definitions, SharedModels>();

/** The compiled schema and element models for a definitions object, built once. */
export function sharedModels(definitions: R4Definitions): SharedModels {
  let shared = cache.get(definitions);
  if (!shared) {
    shared = {
      structure: new StructureValidator(definitions.jsonSchema),
      registry: new ModelRegistry(definitions.structureDefinitions),
    };
    cache.set(definitions, shared);
  }
  return shared;
}
