import type { StructureDefinition } from '@medplum/fhirtypes';
import type { Step } from './redact.js';

/**
 * The JSON paths of sensitive values read straight from the JSON, for the configured expressions
 * whose selection needs no FHIRPath engine (issue 19 item 8: through fhirpath.js, choosing what to
 * encrypt was ~3% of an HL7 ADT^A01's CPU). Two shapes:
 * - a whole complex top-level element (`Patient.telecom`, `Patient.text`): each of its values;
 * - the default national-identifier rule (`NATIONAL_ID` in elements.ts): the Patient identifiers
 *   of a national system or of a v2-0203 national type.
 * Each selector answers undefined for JSON shapes it does not vouch for (nulls in arrays,
 * non-string codes), and fhirpath.js decides those as before; `test/crypto/direct-select.test.ts`
 * checks both agree on every official example and on edge cases.
 */
export type DirectSelect = (resource: Record<string, unknown>) => Step[][] | undefined;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Each value of a top-level element: `[key]`, or `[key, i]` for the entries of a repeating one. */
function wholeElement(key: string): DirectSelect {
  return (resource) => {
    const value = resource[key];
    if (value === undefined) return resource[`_${key}`] === undefined ? [] : undefined;
    if (isObject(value)) return [[key]];
    if (Array.isArray(value) && value.every(isObject)) return value.map((_, i) => [key, i]);
    return undefined;
  };
}

/**
 * The national identifiers of a Patient: a system of `systems`, or a coding of v2-0203 whose code
 * is one of `codes` or starts with `NN`. Only identifiers whose system and codings are plain JSON
 * are vouched for.
 */
export function nationalIdentifiers(systems: readonly string[], codes: readonly string[]): DirectSelect {
  const systemSet = new Set(systems);
  const codeSet = new Set(codes);
  const national = (id: Record<string, unknown>): boolean | undefined => {
    if (id.system !== undefined && typeof id.system !== 'string') return undefined;
    if (typeof id.system === 'string' && systemSet.has(id.system)) return true;
    const type = id.type;
    if (type === undefined) return false;
    if (!isObject(type) || (type.coding !== undefined && !Array.isArray(type.coding))) return undefined;
    let found = false;
    for (const coding of (type.coding as unknown[] | undefined) ?? []) {
      if (!isObject(coding) || (coding.system !== undefined && typeof coding.system !== 'string') || (coding.code !== undefined && typeof coding.code !== 'string')) return undefined;
      const code = coding.code as string | undefined;
      if (coding.system === 'http://terminology.hl7.org/CodeSystem/v2-0203' && code !== undefined && (codeSet.has(code) || code.startsWith('NN'))) found = true;
    }
    return found;
  };
  return (resource) => {
    const ids = resource.identifier;
    if (ids === undefined) return [];
    if (!Array.isArray(ids) || !ids.every(isObject)) return undefined;
    const paths: Step[][] = [];
    for (const [i, id] of ids.entries()) {
      const hit = national(id);
      if (hit === undefined) return undefined;
      if (hit) paths.push(['identifier', i]);
    }
    return paths;
  };
}

/** The direct selector of `Type.element` when the element is a complex, non-choice element of the type; else undefined. */
export function wholeElementSelect(sd: StructureDefinition, type: string, expression: string): DirectSelect | undefined {
  const match = /^([A-Za-z]+)\.([a-z][A-Za-z0-9]*)$/.exec(expression.trim());
  if (!match || match[1] !== type) return undefined;
  const element = sd.snapshot?.element?.find((e) => e.path === expression.trim());
  const codes = element?.type?.map((t) => t.code ?? '') ?? [];
  return codes.length === 1 && /^[A-Z]/.test(codes[0]) ? wholeElement(match[2]) : undefined;
}
