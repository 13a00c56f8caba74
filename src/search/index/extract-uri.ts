import { sortRange, unique, type Entry, type Extracted } from './extracted.js';
import type { TypedValue } from './node.js';

/**
 * Uri entries `{ u }` (https://hl7.org/fhir/R4/search.html#uri). A versioned canonical
 * (`url|1.0`) is stored both as written and without its version, so a search by the bare URL
 * finds every version.
 */
export function extractUri(values: TypedValue[]): Extracted {
  const entries: Entry[] = [];
  for (const { value } of values) {
    if (typeof value !== 'string' || value.length === 0) continue;
    entries.push({ u: value });
    const bar = value.indexOf('|');
    if (bar > 0) entries.push({ u: value.slice(0, bar) });
  }
  const distinct = unique(entries);
  return { entries: distinct, sort: sortRange(distinct.map((e) => e.u as string)) };
}
