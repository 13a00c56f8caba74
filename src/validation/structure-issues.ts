import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { pointerToFhirPath, type PointerLocation } from './fhirpath-location.js';
import { makeIssue, quote } from './issues.js';
import { isObject } from './json-items.js';
import type { ModelRegistry } from './model-registry.js';
import type { StructureError } from './structure.js';

/**
 * Turns ajv's errors into one clear issue per location. ajv reports several errors for one bad
 * value (a wrong type and then a pattern; or a value and its companion); the most fundamental
 * one (the JSON type) wins, the rest are noise.
 */
export function structureIssues(resource: unknown, errors: readonly StructureError[], registry: ModelRegistry): OperationOutcomeIssue[] {
  const chosen = new Map<string, StructureError>();
  for (const e of errors) {
    if (isPairedNull(resource, e)) continue;
    const pointer = e.error.keyword === 'additionalProperties' ? `${e.pointer}/${String(e.error.params.additionalProperty)}` : e.pointer;
    const previous = chosen.get(pointer);
    if (!previous || rank(e.error.keyword) > rank(previous.error.keyword)) chosen.set(pointer, { pointer, error: e.error });
  }
  return [...chosen.values()].map((e) => toIssue(e, pointerToFhirPath(resource, e.pointer, registry)));
}

/** Which of several errors at one location explains it best: a wrong JSON type, then an empty value. */
function rank(keyword: string): number {
  return keyword === 'type' ? 2 : keyword === 'minLength' || keyword === 'minItems' || keyword === 'minProperties' ? 1 : 0;
}

function toIssue({ error }: StructureError, { location, type }: PointerLocation): OperationOutcomeIssue {
  const data: unknown = error.data;
  switch (error.keyword) {
    case 'additionalProperties':
      return makeIssue('error', 'structure', `Unknown element '${String(error.params.additionalProperty)}' at ${location}`, location);
    case 'resourceType':
      return makeIssue('error', 'structure', `Unknown resource type ${quote(data ?? '(none)')}`, location);
    case 'required':
      return makeIssue('error', 'structure', `A resource must have a resourceType (at ${location})`, location);
    case 'type': {
      const expected = String(error.params.type);
      if (expected === 'array') return makeIssue('error', 'structure', `${location} repeats, so its value must be a JSON array`, location);
      if (Array.isArray(data)) return makeIssue('error', 'structure', `${location} is a single value, so it must not be a JSON array`, location);
      if (expected === 'integer' && typeof data === 'number') return makeIssue('error', 'value', `The value ${data} is not a valid ${type ?? 'integer'} at ${location}`, location);
      const fhir = type ? ` (FHIR type ${type})` : '';
      return makeIssue('error', 'structure', `${location} must be a JSON ${expected}${fhir}, not ${describeJson(data)}`, location);
    }
    case 'pattern':
      return makeIssue('error', 'value', `The value ${quote(data)} is not a valid ${type ?? 'value'} at ${location}`, location);
    // https://hl7.org/fhir/R4/json.html: an element is either absent or has content.
    case 'minLength':
      return makeIssue('error', 'structure', `${location} is an empty string: FHIR JSON has no empty values; leave the element out instead`, location);
    case 'minItems':
      return makeIssue('error', 'structure', `${location} is an empty array: FHIR JSON has no empty arrays; leave the element out instead`, location);
    case 'minProperties':
      return makeIssue('error', 'structure', `${location} is an empty object: FHIR JSON has no empty objects; leave the element out instead`, location);
    case 'minimum':
    case 'maximum':
      return makeIssue('error', 'value', `The value ${String(data)} is not a valid ${type ?? 'number'} at ${location}`, location);
    default:
      return makeIssue('error', 'structure', `${location} ${error.message ?? 'is invalid'}`, location);
  }
}

function describeJson(data: unknown): string {
  if (data === null) return 'null';
  if (Array.isArray(data)) return 'an array';
  return typeof data === 'object' ? 'an object' : `the ${typeof data} ${quote(data)}`;
}

/**
 * In FHIR JSON a `null` inside a primitive array is legal when its `_name` companion has content
 * at the same index (and vice versa): `"given": [null, "Jo"], "_given": [{"extension": [...]}, null]`.
 * The schema cannot express that pairing, so those errors are dropped here.
 */
function isPairedNull(resource: unknown, e: StructureError): boolean {
  if (e.error.keyword !== 'type' || e.error.data !== null) return false;
  const parts = e.pointer.split('/');
  const index = parts.pop();
  const key = parts.pop();
  if (index === undefined || key === undefined || !/^\d+$/.test(index)) return false;
  let parent: unknown = resource;
  for (const p of parts.slice(1)) parent = Array.isArray(parent) ? parent[Number(p)] : isObject(parent) ? parent[p] : undefined;
  if (!isObject(parent)) return false;
  const other = key.startsWith('_') ? parent[key.slice(1)] : parent[`_${key}`];
  return Array.isArray(other) && other[Number(index)] !== null && other[Number(index)] !== undefined;
}
