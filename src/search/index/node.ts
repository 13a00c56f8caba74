/**
 * The values fhirpath.js returns with `resolveInternalTypes: false`: ResourceNodes carrying the
 * FHIR type of each value (needed to tell an Identifier from a ContactPoint, a date from a
 * Period), or plain JavaScript values computed by the expression (e.g. a boolean).
 */

/** One value an expression yields, with its FHIR type when fhirpath.js knows it. */
export interface TypedValue {
  /** FHIR type name, e.g. `HumanName`, `dateTime`, `code`; undefined for computed values. */
  type: string | undefined;
  value: unknown;
  /** `Type.element` path of a primitive element (e.g. `Patient.gender`, `Address.use`), for its binding. */
  elementPath?: string;
}

interface ResourceNodeLike {
  data: unknown;
  fhirNodeDataType?: string;
  propName?: string;
  parentResNode?: { path?: string; fhirNodeDataType?: string } | null;
}

function isResourceNode(item: unknown): item is ResourceNodeLike {
  return typeof item === 'object' && item !== null && 'data' in item && 'fhirNodeDataType' in item;
}

/** Normalizes a fhirpath.js result list, dropping empty values. */
export function typedValues(result: unknown[]): TypedValue[] {
  const out: TypedValue[] = [];
  for (const item of result) {
    if (isResourceNode(item)) {
      if (item.data === null || item.data === undefined) continue; // a primitive with only extensions
      const parentPath = item.parentResNode?.path;
      const elementPath = parentPath && item.propName ? `${parentPath}.${item.propName}` : undefined;
      out.push({ type: item.fhirNodeDataType, value: item.data, ...(elementPath ? { elementPath } : {}) });
    } else if (item !== null && item !== undefined) {
      out.push({ type: undefined, value: valueOf(item) });
    }
  }
  return out;
}

/** fhirpath.js wraps some computed values (e.g. FP_DateTime); their JSON form is the FHIR value. */
function valueOf(item: unknown): unknown {
  if (typeof item === 'object' && item !== null && typeof (item as { toJSON?: unknown }).toJSON === 'function') {
    return (item as { toJSON(): unknown }).toJSON();
  }
  return item;
}

/** Narrows an element value to a plain object. */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A string property of an element, if present and non-empty. */
export function str(object: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** An array property of an element (FHIR repeating elements), or []. */
export function list(object: Record<string, unknown> | undefined, key: string): unknown[] {
  const value = object?.[key];
  return Array.isArray(value) ? value : [];
}
