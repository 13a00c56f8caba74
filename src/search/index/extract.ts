import type { Resource } from '@medplum/fhirtypes';
import { referenceTypeOf } from './extract-reference.js';
import { sortRange, unique, type ExtractContext, type Extracted } from './extracted.js';
import { indexKey, sortKey } from './fields.js';
import { typedValues, type TypedValue } from './node.js';
import type { CompiledBranch, IndexedParam } from './param-table.js';

/**
 * The choice elements a resource has, by the stem of their keys (`deceased` for `deceasedBoolean`):
 * every prefix of a key that ends before an upper-case letter. Made once per resource, so each of
 * the ~30 parameters' absent elements is one lookup rather than a scan of the keys.
 */
function choiceStems(keys: readonly string[]): Set<string> {
  const stems = new Set<string>();
  for (const key of keys) {
    for (let i = 1; i < key.length; i++) {
      const code = key.charCodeAt(i);
      if (code >= 65 && code <= 90) stems.add(key.slice(0, i));
    }
  }
  return stems;
}

/** The keys of a resource, and its choice stems once asked for. */
interface Present {
  keys: readonly string[];
  stems?: Set<string>;
}

/** True when the resource has the element, directly or as a choice (`deceased` → `deceasedBoolean`). */
function hasElement(resource: Record<string, unknown>, present: Present, element: string): boolean {
  if (resource[element] !== undefined) return true;
  present.stems ??= choiceStems(present.keys);
  return present.stems.has(element);
}

function valuesOf(branch: CompiledBranch, resource: Resource, context: ExtractContext): TypedValue[] {
  let values: TypedValue[];
  try {
    values = branch.direct?.(resource) ?? typedValues(branch.evaluate(resource));
  } catch {
    // An expression fhirpath.js cannot evaluate on this data yields no value rather than failing the write.
    return [];
  }
  const { targetType } = branch;
  return targetType ? values.filter((v) => referenceTypeOf(v, context.baseUrl) === targetType) : values;
}

function merge(a: Extracted | undefined, b: Extracted): Extracted {
  if (!a) return b;
  const sort = sortRange([a.sort?.asc, a.sort?.desc, b.sort?.asc, b.sort?.desc].filter((v) => v !== undefined));
  return { entries: unique([...a.entries, ...b.entries]), ...(sort ? { sort } : {}) };
}

/** The values of one parameter in a resource, over all its branches; undefined when it has none. */
function extractParam(param: IndexedParam, resource: Resource, keys: Present, context: ExtractContext): Extracted | undefined {
  const { extractor } = param;
  if (!extractor) return undefined;
  let result: Extracted | undefined;
  for (const branch of param.branches) {
    if (branch.rootElement && !hasElement(resource as unknown as Record<string, unknown>, keys, branch.rootElement)) continue;
    const values = valuesOf(branch, resource, context);
    if (values.length > 0) result = merge(result, extractor(values, context));
  }
  return result && result.entries.length > 0 ? result : undefined;
}

/**
 * `record.index` of a resource: for every parameter with values, its entries and its two sort
 * scalars (see `fields.ts`). Parameters answered from record fields are skipped.
 */
export function extractIndex(resource: Resource, params: Iterable<IndexedParam>, context: ExtractContext): Record<string, unknown> {
  const index: Record<string, unknown> = {};
  const keys: Present = { keys: Object.keys(resource) };
  for (const param of params) {
    if (param.recordField) continue;
    const extracted = extractParam(param, resource, keys, context);
    if (!extracted) continue;
    const code = param.def.code;
    index[indexKey(code)] = extracted.entries;
    if (extracted.sort) {
      index[sortKey(code, 1)] = extracted.sort.asc;
      index[sortKey(code, -1)] = extracted.sort.desc;
    }
  }
  return index;
}
