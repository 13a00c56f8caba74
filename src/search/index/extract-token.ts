import { sortRange, unique, type Entry, type ExtractContext, type Extracted } from './extracted.js';
import { asObject, list, str, type TypedValue } from './node.js';
import { fold } from './text.js';

/** `{ s, c, t }` without the undefined ones, to keep the stored entry small. */
function entry(system: string | undefined, code: string | undefined, text: string | undefined): Entry | undefined {
  if (system === undefined && code === undefined && text === undefined) return undefined;
  const e: Entry = {};
  if (system !== undefined) e.s = system;
  if (code !== undefined) e.c = code;
  if (text !== undefined) e.t = fold(text);
  return e;
}

function codingEntry(coding: unknown): Entry | undefined {
  const c = asObject(coding);
  return entry(str(c, 'system'), str(c, 'code'), str(c, 'display'));
}

/**
 * Token entries of one value, by its FHIR type (https://hl7.org/fhir/R4/search.html#token):
 * Coding and CodeableConcept by system and code (display and text for `:text`), Identifier by
 * system and value (its type codings for `:of-type`), ContactPoint by value, primitives
 * (code, boolean, string, uri, id) by value.
 */
function entriesOf(value: TypedValue, context: ExtractContext): Entry[] {
  const { type } = value;
  if (typeof value.value === 'boolean') return [{ c: String(value.value) }];
  if (typeof value.value === 'string' || typeof value.value === 'number') {
    const code = String(value.value);
    const system = type === 'code' ? context.impliedSystem(value.elementPath, code) : undefined;
    return [entry(system, code, undefined) as Entry];
  }
  const element = asObject(value.value);
  if (!element) return [];
  switch (type) {
    case 'Coding':
      return [codingEntry(element)].filter((e): e is Entry => e !== undefined);
    case 'CodeableConcept': {
      const entries = list(element, 'coding').map(codingEntry);
      const text = str(element, 'text');
      if (text !== undefined) entries.push({ t: fold(text) });
      return entries.filter((e): e is Entry => e !== undefined);
    }
    case 'Identifier': {
      const typeConcept = asObject(element.type);
      const e = entry(str(element, 'system'), str(element, 'value'), str(typeConcept, 'text'));
      if (!e) return [];
      const types = list(typeConcept, 'coding')
        .map((coding) => entry(str(asObject(coding), 'system'), str(asObject(coding), 'code'), undefined))
        .filter((t): t is Entry => t !== undefined);
      if (types.length > 0) e.ty = types;
      return [e];
    }
    case 'ContactPoint': {
      const v = str(element, 'value');
      return v === undefined ? [] : [{ c: v }];
    }
    default:
      return [];
  }
}

const defined = (values: unknown[]): string[] => values.filter((v): v is string => typeof v === 'string');

/** Token entries of all values; sorted by code, or by text when no value has a code. */
export function extractToken(values: TypedValue[], context: ExtractContext): Extracted {
  const entries = unique(values.flatMap((v) => entriesOf(v, context)));
  const codes = defined(entries.map((e) => e.c));
  return { entries, sort: sortRange(codes.length > 0 ? codes : defined(entries.map((e) => e.t))) };
}
