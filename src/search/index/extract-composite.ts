import type { SearchParamType } from '../types.js';
import { EXTRACTORS } from './extractors.js';
import { unique, type Entry, type ExtractContext, type Extracted } from './extracted.js';
import { indexKey } from './fields.js';
import { typedValues, type TypedValue } from './node.js';

/** One component of a composite parameter, its expression compiled relative to the composite's element. */
export interface CompiledComponent {
  code: string;
  type: SearchParamType;
  evaluate(element: unknown): unknown[];
}

/**
 * Composite entries (https://hl7.org/fhir/R4/search.html#composite): one per element the
 * composite expression yields, holding each component's own entries under the component's
 * code, so that `code$value` pairs the code and the value of the same element. An element
 * lacking a component cannot match and is left out. Composites are not sortable.
 */
export function extractComposite(components: readonly CompiledComponent[], values: TypedValue[], context: ExtractContext): Extracted {
  const entries: Entry[] = [];
  for (const value of values) {
    const entry: Entry = {};
    for (const component of components) {
      const extractor = EXTRACTORS[component.type];
      let parts: Entry[] = [];
      try {
        parts = extractor ? extractor(typedValues(component.evaluate(value.value)), context).entries : [];
      } catch {
        parts = []; // a component fhirpath.js cannot evaluate on this element: no value
      }
      if (parts.length === 0) break;
      entry[indexKey(component.code)] = parts;
    }
    if (Object.keys(entry).length === components.length) entries.push(entry);
  }
  return { entries: unique(entries) };
}
