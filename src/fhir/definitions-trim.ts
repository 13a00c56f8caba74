import type { ElementDefinition, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

/**
 * What FhirGate drops from the official definitions right after reading them (issue 13): the
 * documentation written for people, which no part of the server reads (validation quotes
 * `constraint.human` and the binding, never an element's `definition` or `comment`; the
 * CapabilityStatement names the SearchParameter by URL; search reads `expression`, `xpathUsage`,
 * `target`, `component`). About 30 MB of heap and most of the parsing time (the narrative `text`
 * of the resource definitions alone is 18 MB of the 35 MB file).
 *
 * A field added here must not be read anywhere under src/ (grep `.fieldName`); the set is part of
 * the definitions cache key (`definitions-cache.ts`), so changing it rebuilds the cache.
 */
export const TRIMMED = {
  /** StructureDefinition: the narrative and the prose around the definition. */
  structureDefinition: ['text', 'description', 'purpose', 'copyright', 'contact', 'mapping'],
  /** ElementDefinition, in snapshot and differential: https://hl7.org/fhir/R4/elementdefinition.html documentation fields. */
  element: ['definition', 'comment', 'requirements', 'alias', 'mapping'],
  /** ElementDefinition.constraint: the XPath twin of the FHIRPath expression, and the constraint's rationale. */
  constraint: ['xpath', 'requirements'],
  /** SearchParameter (top level only: `component[].definition` is a canonical search reads). */
  searchParameter: ['text', 'description', 'contact', 'xpath'],
  /** StructureDefinition.differential, when the snapshot is there (it says the same, relative to the base). */
  differentialBesideSnapshot: true,
} as const;

type Json = Record<string, unknown>;

function drop(object: object, keys: readonly string[]): void {
  for (const key of keys) delete (object as Json)[key];
}

function trimElement(element: ElementDefinition): void {
  drop(element, TRIMMED.element);
  for (const constraint of element.constraint ?? []) drop(constraint, TRIMMED.constraint);
}

/** Drops the documentation of a StructureDefinition and its elements, in place. */
export function trimStructureDefinition(sd: StructureDefinition): StructureDefinition {
  drop(sd, TRIMMED.structureDefinition);
  // Readers take the snapshot whenever it has elements (profiles/differential.ts, extension-definitions.ts):
  // the differential of a definition with a snapshot is never read. Every official R4 definition has one.
  if (TRIMMED.differentialBesideSnapshot && sd.snapshot?.element?.length) delete sd.differential;
  for (const element of sd.snapshot?.element ?? []) trimElement(element);
  for (const element of sd.differential?.element ?? []) trimElement(element);
  return sd;
}

/** Drops the documentation of a SearchParameter, in place. */
export function trimSearchParameter(sp: SearchParameter): SearchParameter {
  drop(sp, TRIMMED.searchParameter);
  return sp;
}

/**
 * Drops the `description` annotations of a JSON schema, in place: ajv ignores them when validating.
 * Only string values are annotations; `properties.description` (FHIR elements named `description`)
 * is a schema object and stays.
 */
export function trimJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) {
    schema.forEach(trimJsonSchema);
  } else if (schema !== null && typeof schema === 'object') {
    const object = schema as Json;
    if (typeof object.description === 'string') delete object.description;
    for (const value of Object.values(object)) trimJsonSchema(value);
  }
  return schema;
}
