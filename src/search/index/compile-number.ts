import type { Filter } from '../../store/port.js';
import { allOf, anyOf, cond } from './filter.js';
import { numberRange, type NumberRange } from './number-range.js';
import { badValue, splitPrefix, type Prefix } from './prefix.js';

/**
 * A predicate over a number entry `{ v, lo, hi }` (https://hl7.org/fhir/R4/search.html#number):
 * `eq`/`ne` test the stored value against the search value's implicit range (`100` is
 * [99.5, 100.5)); `gt`/`lt`/`ge`/`le` compare with the value exactly ("lt100: values less than
 * exactly 100"); `sa`/`eb` need the stored range to start after / end before the search range;
 * `ap` accepts values within 10% of the search value (or its precision range, if wider).
 */
function numberPredicate(prefix: Prefix, n: NumberRange): Filter {
  switch (prefix) {
    case 'eq':
      return allOf([cond('v', '$gte', n.lo), cond('v', '$lt', n.hi)]);
    case 'ne':
      return anyOf([cond('v', '$lt', n.lo), cond('v', '$gte', n.hi)]);
    case 'gt':
      return cond('v', '$gt', n.value);
    case 'lt':
      return cond('v', '$lt', n.value);
    case 'ge':
      return cond('v', '$gte', n.value);
    case 'le':
      return cond('v', '$lte', n.value);
    case 'sa':
      return cond('lo', '$gte', n.hi);
    case 'eb':
      return cond('hi', '$lte', n.lo);
    case 'ap': {
      const margin = Math.abs(n.value) / 10;
      return allOf([cond('v', '$gte', Math.min(n.lo, n.value - margin)), cond('v', '$lte', Math.max(n.hi, n.value + margin))]);
    }
  }
}

function parseNumber(code: string, value: string, text: string): { prefix: Prefix; range: NumberRange } {
  const { prefix, rest } = splitPrefix(text);
  const range = numberRange(rest);
  if (!range) throw badValue(code, value, 'a number with an optional prefix (eq, ne, gt, lt, ge, le, sa, eb, ap)');
  return { prefix, range };
}

/** The predicate of one number search value. */
export function compileNumberValue(code: string, value: string): Filter {
  const { prefix, range } = parseNumber(code, value, value);
  return numberPredicate(prefix, range);
}

/**
 * The predicate of one quantity search value (https://hl7.org/fhir/R4/search.html#quantity):
 * `[prefix]number`, `[prefix]number|system|code`, or `[prefix]number||code` where the code
 * matches either the coded unit or the human unit. Units are compared as written.
 */
export function compileQuantityValue(code: string, value: string): Filter {
  const parts = value.split('|');
  if (parts.length !== 1 && parts.length !== 3) throw badValue(code, value, 'number, number|system|code or number||code');
  const { prefix, range } = parseNumber(code, value, parts[0]);
  const number = numberPredicate(prefix, range);
  if (parts.length === 1) return number;
  const [, system, unit] = parts;
  if (!system && !unit) return number;
  const units: Filter[] = [];
  if (system) units.push({ s: system });
  if (unit) units.push(system ? { c: unit } : { $or: [{ c: unit }, { u: unit }] });
  return allOf([number, ...units]);
}
