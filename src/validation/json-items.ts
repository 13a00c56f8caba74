import type { JsonKey } from './element-model.js';

/** One occurrence of an element in a JSON instance, with its FHIRPath location. */
export interface ElementItem {
  /** The JSON value (undefined for a primitive that only has `_name` content). */
  readonly value: unknown;
  /** The `_name` companion of a primitive (id and extensions), if present. */
  readonly extras?: Record<string, unknown>;
  /** The FHIR type this occurrence has (the chosen type for choice elements). */
  readonly type: string;
  /** The JSON key it was found under. */
  readonly key: string;
  /** FHIRPath location, e.g. `Patient.name[0].given[1]` or `Observation.value.ofType(Quantity)`. */
  readonly location: string;
}

/** The shape of an element as far as finding it in JSON goes. */
export interface ElementShape {
  readonly name: string;
  readonly choice: boolean;
  readonly repeating: boolean;
  readonly keys: readonly JsonKey[];
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What `itemsOf` answers for an absent element: one frozen list, never written to. */
const NO_ITEMS: readonly ElementItem[] = Object.freeze([]);

/**
 * Every occurrence of an element inside `parent`, pairing primitive values with their
 * `_name` companions by index (https://hl7.org/fhir/R4/json.html#primitive). Tolerates
 * structurally wrong JSON (the schema layer reports it): a single value where an array is
 * expected counts as one occurrence, and vice versa.
 */
export function itemsOf(parent: JsonObject, shape: ElementShape, parentLocation: string): readonly ElementItem[] {
  let items: ElementItem[] | undefined;
  // Called for every element of every type walked: most are absent, so nothing is built for those
  // (one shared empty list, issue 14), and a single value without a `_name` companion, the most
  // common shape by far, takes no intermediate arrays.
  for (const { key, type, companion: companionKey } of shape.keys) {
    const raw = parent[key];
    const companion = parent[companionKey];
    if (raw === undefined && companion === undefined) continue;
    items ??= [];
    const base = `${parentLocation}.${shape.name}`;
    if (companion === undefined && raw !== null && !Array.isArray(raw)) {
      items.push({ value: raw, type, key, location: locationOf(shape, type, base, shape.repeating ? 0 : undefined) });
      continue;
    }
    const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
    const extras = Array.isArray(companion) ? companion : companion === undefined ? [] : [companion];
    const count = Math.max(values.length, extras.length);
    for (let i = 0; i < count; i++) {
      const value = values[i] ?? undefined;
      const extra = isObject(extras[i]) ? extras[i] : undefined;
      if (value === undefined && extra === undefined) continue;
      items.push({
        value,
        ...(extra ? { extras: extra } : {}),
        type,
        key,
        location: locationOf(shape, type, base, shape.repeating || Array.isArray(raw) ? i : undefined),
      });
    }
  }
  return items ?? NO_ITEMS;
}

/** An occurrence's location: `base`, indexed when given an index, with its type when the element is a choice. */
function locationOf(shape: ElementShape, type: string, base: string, index: number | undefined): string {
  const indexed = index === undefined ? base : `${base}[${index}]`;
  return shape.choice ? `${indexed}.ofType(${type})` : indexed;
}
