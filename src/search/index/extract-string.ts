import { sortRange, unique, type Entry, type Extracted } from './extracted.js';
import { asObject, list, str, type TypedValue } from './node.js';
import { fold, soundex } from './text.js';

/** Parts of complex types a string parameter searches (https://hl7.org/fhir/R4/search.html#string). */
const NAME_PARTS = ['family', 'given', 'prefix', 'suffix', 'text'] as const;
const ADDRESS_PARTS = ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'] as const;

/** The strings of one value: its parts for HumanName / Address, itself for primitives. */
function partsOf(value: TypedValue): { parts: string[]; sortText?: string } {
  if (typeof value.value === 'string') return { parts: [value.value] };
  const element = asObject(value.value);
  if (!element) return { parts: [] };
  const keys = value.type === 'HumanName' ? NAME_PARTS : value.type === 'Address' ? ADDRESS_PARTS : undefined;
  if (!keys) return { parts: [] };
  const parts = keys.flatMap((k) => [str(element, k), ...list(element, k)]).filter((p): p is string => typeof p === 'string' && p.length > 0);
  // Names sort by family then given names, addresses by their text or lines: the way people read them.
  const sortText =
    value.type === 'HumanName'
      ? [str(element, 'family'), ...list(element, 'given')].filter((p) => typeof p === 'string').join(' ') || str(element, 'text')
      : str(element, 'text') ?? parts.join(' ');
  return { parts, ...(sortText ? { sortText } : {}) };
}

/**
 * String entries `{ f, e }`: `f` folded for the default starts-with and `:contains` matches,
 * `e` as written for `:exact`. HumanName and Address contribute one entry per part.
 */
export function extractString(values: TypedValue[]): Extracted {
  const entries: Entry[] = [];
  const sort: string[] = [];
  for (const value of values) {
    const { parts, sortText } = partsOf(value);
    for (const part of parts) entries.push({ f: fold(part), e: part });
    if (parts.length > 0) sort.push(fold(sortText ?? parts[0]));
  }
  return { entries: unique(entries), sort: sortRange(sort) };
}

/**
 * Phonetic entries `{ f: soundex }`, one per word of every name part: `phonetic=Smyth` finds
 * `Smith`. The algorithm is the server's choice (https://hl7.org/fhir/R4/patient.html#search).
 */
export function extractPhonetic(values: TypedValue[]): Extracted {
  const entries: Entry[] = [];
  const sort: string[] = [];
  for (const value of values) {
    const { parts, sortText } = partsOf(value);
    for (const part of parts) {
      for (const word of part.split(/[\s,.-]+/)) {
        const code = soundex(word);
        if (code) entries.push({ f: code });
      }
    }
    if (parts.length > 0) sort.push(fold(sortText ?? parts[0]));
  }
  return { entries: unique(entries), sort: sortRange(sort) };
}
