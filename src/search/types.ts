import type { Resource } from '@medplum/fhirtypes';
import type { Filter } from '../store/port.js';

/** R4 search parameter types (search.html#ptypes). */
export type SearchParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

/** One search parameter as FhirGate serves it for one resource type, derived from the official SearchParameter. */
export interface SearchParamDef {
  code: string;
  type: SearchParamType;
  /** The resource type this definition applies to. */
  resourceType: string;
  /** FHIRPath expression restricted to this resource type (undefined for params answered from record fields, e.g. `_id`, `_lastUpdated`). */
  expression?: string;
  /** Target types of a reference parameter. */
  target?: string[];
  /** Components of a composite parameter, by their own codes. */
  component?: Array<{ code: string; type: SearchParamType; expression: string }>;
  /** The canonical URL of the official definition (for the CapabilityStatement). */
  definition?: string;
}

/**
 * The search index of the served types: what is extracted from each resource at write time,
 * and how one parameter turns into a MongoDB query document over those values. Both adapters
 * run the documents it emits, unchanged.
 */
export interface SearchIndex {
  /** Parameters of a type by code, including the common ones (`_id`, `_lastUpdated`, `_tag`, `_profile`, `_security`, ...). */
  params(resourceType: string): ReadonlyMap<string, SearchParamDef>;
  /** Index values of a resource, stored as `StoredRecord.index` at write time. */
  extract(resource: Resource): Record<string, unknown>;
  /**
   * The filter for one parameter occurrence: code, optional modifier, and its OR-ed values
   * (already split on unescaped commas and unescaped). Throws FhirError `bad-request` on a malformed value
   * or an unsupported modifier.
   */
  compile(resourceType: string, code: string, modifier: string | undefined, values: string[]): Filter;
  /** The filter matching records whose reference parameter points at any of `references` (`Type/id`). */
  compileReferenceIn(resourceType: string, code: string, references: string[]): Filter;
  /** `Type/id` references a record's reference parameter holds (for `_include`, `_revinclude`, chains). */
  referencesOf(record: { resourceType: string; index?: Record<string, unknown> }, code: string): string[];
  /**
   * The `Type/id` references `resource` holds in the reference parameters `codes`, extracted as
   * `extract` would (same expressions, same normalization of this server's absolute URLs) but only
   * for these parameters, and always from the clear values, also where the stored index is blind.
   * What compartment membership is decided on (`compartment.ts`).
   */
  referencesIn(resource: Resource, codes: readonly string[]): string[];
  /** The scalar field to sort on for a parameter and direction (keyset paging needs one value per record). */
  sortField(resourceType: string, code: string, direction: 1 | -1): string;
}
