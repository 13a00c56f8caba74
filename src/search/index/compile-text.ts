import { FhirError } from '../../fhir/errors.js';
import type { Filter } from '../../store/port.js';
import { escapeRegex, fold, soundex } from './text.js';

/**
 * Predicates of the text-like types: string (https://hl7.org/fhir/R4/search.html#string) and
 * uri (https://hl7.org/fhir/R4/search.html#uri). User text enters regexes only escaped.
 */

function folded(code: string, value: string): string {
  const text = fold(value);
  if (text.length === 0) throw new FhirError('bad-request', `Search parameter '${code}' needs a non-empty value`);
  return text;
}

/** One string value: starts-with by default, `:contains` anywhere, `:exact` as written (case and accents count). */
export function compileStringValue(code: string, modifier: 'contains' | 'exact' | undefined, value: string): Filter {
  if (modifier === 'exact') return { e: value };
  const text = escapeRegex(folded(code, value));
  return { f: { $regex: modifier === 'contains' ? text : `^${text}` } };
}

/** One phonetic value: every word must sound like a word of the name (Soundex). */
export function compilePhoneticValue(code: string, value: string): Filter[] {
  const codes = value.split(/[\s,.-]+/).map(soundex).filter((c): c is string => c !== undefined);
  if (codes.length === 0) throw new FhirError('bad-request', `Search parameter '${code}' needs a value with letters`);
  return codes.map((c) => ({ f: c }));
}

/**
 * The URLs `value` is below of, for `:above`: each path prefix, with and without a trailing
 * slash (`http://a.org/fhir/ValueSet/1` is below `http://a.org/fhir/` and `http://a.org/fhir`).
 */
function ancestors(value: string): string[] {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]+/.exec(value);
  if (!scheme) return [value];
  const out = new Set<string>([value]);
  let at = scheme[0].length;
  out.add(scheme[0]);
  out.add(`${scheme[0]}/`);
  for (let next = value.indexOf('/', at + 1); next > 0; next = value.indexOf('/', at + 1)) {
    out.add(value.slice(0, next));
    out.add(value.slice(0, next + 1));
    at = next;
  }
  return [...out];
}

/** One uri value: equal by default, `:below` by prefix, `:above` among its ancestors. */
export function compileUriValue(code: string, modifier: 'below' | 'above' | undefined, value: string): Filter {
  if (value.length === 0) throw new FhirError('bad-request', `Search parameter '${code}' needs a non-empty value`);
  if (modifier === 'below') return { u: { $regex: `^${escapeRegex(value)}` } };
  if (modifier === 'above') return { u: { $in: ancestors(value) } };
  return { u: value };
}
