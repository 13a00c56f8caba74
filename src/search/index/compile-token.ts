import { FhirError } from '../../fhir/errors.js';
import type { Filter } from '../../store/port.js';
import { anyOf } from './filter.js';
import { escapeRegex, fold } from './text.js';

/** What `:in` / `:not-in` need from terminology: the codes of a ValueSet. */
export interface TerminologySource {
  expand(valueSetUrl: string): Array<{ system: string; code: string }>;
  hasValueSet(url: string): boolean;
}

function empty(code: string): FhirError {
  return new FhirError('bad-request', `Search parameter '${code}' needs a non-empty value`);
}

/**
 * `code`, `system|code`, `|code` (no system) and `system|` (any code of the system)
 * (https://hl7.org/fhir/R4/search.html#token), over entry fields `systemKey` / `codeKey`.
 * The value is split at its first `|`: systems are URIs and never contain one.
 */
export function systemCodePredicate(code: string, value: string, systemKey = 's', codeKey = 'c'): Filter {
  const bar = value.indexOf('|');
  if (bar < 0) {
    if (value.length === 0) throw empty(code);
    return { [codeKey]: value };
  }
  const system = value.slice(0, bar);
  const c = value.slice(bar + 1);
  if (system.length === 0 && c.length === 0) throw empty(code);
  if (system.length === 0) return { [codeKey]: c, [systemKey]: { $exists: false } };
  if (c.length === 0) return { [systemKey]: system };
  return { [systemKey]: system, [codeKey]: c };
}

/** `:text`: the folded display or text starts with the value, or has a word that does. */
export function textPredicate(code: string, value: string): Filter {
  const text = fold(value).trim();
  if (text.length === 0) throw empty(code);
  return { t: { $regex: `(?:^|\\s)${escapeRegex(text)}` } };
}

/** `:of-type`: `type-system|type-code|value` of an Identifier (https://hl7.org/fhir/R4/search.html#token). */
export function ofTypePredicate(code: string, value: string): Filter {
  const first = value.indexOf('|');
  const second = first < 0 ? -1 : value.indexOf('|', first + 1);
  const parts = second < 0 ? [] : [value.slice(0, first), value.slice(first + 1, second), value.slice(second + 1)];
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) {
    throw new FhirError('bad-request', `Search parameter '${code}:of-type' needs a value of the form type-system|type-code|value`);
  }
  return { c: parts[2], ty: { $elemMatch: { s: parts[0], c: parts[1] } } };
}

/**
 * `:in`: a code of the ValueSet `url`, matched by system and code, grouped by system to keep
 * the document small. The ValueSet must be held and expandable locally.
 */
export function inValueSetPredicate(code: string, url: string, terminology: TerminologySource | undefined): Filter {
  if (!terminology || !terminology.hasValueSet(url)) {
    throw new FhirError('bad-request', `Value set '${url}' of '${code}:in' / ':not-in' is not known to this server`);
  }
  let concepts: Array<{ system: string; code: string }>;
  try {
    concepts = terminology.expand(url);
  } catch {
    throw new FhirError('bad-request', `Value set '${url}' cannot be expanded by this server, so '${code}:in' / ':not-in' cannot use it`);
  }
  const bySystem = new Map<string, string[]>();
  for (const concept of concepts) {
    const codes = bySystem.get(concept.system) ?? [];
    codes.push(concept.code);
    bySystem.set(concept.system, codes);
  }
  if (bySystem.size === 0) return { c: { $in: [] } };
  const oneOf = (codes: string[]): unknown => (codes.length === 1 ? codes[0] : { $in: codes });
  const coded = [...bySystem].map(([system, codes]): Filter => ({ s: system, c: oneOf(codes) }));
  // A plain `code` element whose system is not known (no local binding) is matched by code alone.
  const bare: Filter = { c: oneOf([...new Set(concepts.map((c) => c.code))]), s: { $exists: false } };
  return anyOf([...coded, bare]);
}
