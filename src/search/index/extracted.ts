import type { TypedValue } from './node.js';

/** One stored value of a parameter (see `fields.ts` for the shape per type). */
export type Entry = Record<string, unknown>;

/** What one parameter contributes to `record.index`. */
export interface Extracted {
  entries: Entry[];
  /** Smallest and largest sort value of the record for this parameter. */
  sort?: { asc: string | number; desc: string | number };
}

/** Settings an extractor may need beyond the values themselves. */
export interface ExtractContext {
  /** The server's base URL without trailing slash, to make references to this server relative. */
  baseUrl?: string;
  /** The code system of a plain `code` element, from its required binding, when known. */
  impliedSystem(elementPath: string | undefined, code: string): string | undefined;
}

/** Turns the typed values an expression yields into index entries for one parameter type. */
export type Extractor = (values: TypedValue[], context: ExtractContext) => Extracted;

/** Smallest and largest of non-empty sort candidates (strings compare by code unit, like MongoDB). */
export function sortRange(candidates: Array<string | number>): Extracted['sort'] {
  if (candidates.length === 0) return undefined;
  let asc = candidates[0];
  let desc = candidates[0];
  for (const c of candidates) {
    if (c < asc) asc = c;
    if (c > desc) desc = c;
  }
  return { asc, desc };
}

/** Removes entries that repeat an earlier one (same JSON), keeping order. */
export function unique(entries: Entry[]): Entry[] {
  if (entries.length < 2) return entries;
  const seen = new Set<string>();
  return entries.filter((e) => {
    const key = JSON.stringify(e);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
