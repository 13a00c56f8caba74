import { FhirError } from '../../fhir/errors.js';
import type { Filter } from '../../store/port.js';
import type { SearchParamDef } from '../types.js';
import { datePredicate } from './compile-date.js';
import { compileNumberValue, compileQuantityValue } from './compile-number.js';
import { isTypeModifier, referenceIdentifierPredicate, referencePredicate } from './compile-reference.js';
import { compilePhoneticValue, compileStringValue, compileUriValue } from './compile-text.js';
import { inValueSetPredicate, ofTypePredicate, systemCodePredicate, textPredicate, type TerminologySource } from './compile-token.js';
import { entriesPath, indexKey } from './fields.js';
import { allOf, anyOf, noEntry, someEntry } from './filter.js';
import type { IndexedParam } from './param-table.js';

/** What compilation needs besides the parameter. */
export interface CompileContext {
  baseUrl?: string;
  terminology?: TerminologySource;
  /** Milliseconds since the epoch, for the `ap` window of dates. */
  now(): number;
}

/** Modifiers each type accepts besides `:missing` (https://hl7.org/fhir/R4/search.html#modifiers). */
const MODIFIERS: Readonly<Record<string, ReadonlySet<string>>> = {
  string: new Set(['exact', 'contains']),
  token: new Set(['not', 'text', 'of-type', 'in', 'not-in']),
  reference: new Set(['identifier']), // plus a target type, e.g. `:Patient`
  date: new Set(),
  number: new Set(),
  quantity: new Set(),
  uri: new Set(['below', 'above']),
  composite: new Set(),
};

function unsupported(param: IndexedParam, modifier: string): FhirError {
  return new FhirError('bad-request', `Modifier ':${modifier}' is not supported for search parameter '${param.def.code}' (${param.def.type})`);
}

function checkModifier(param: IndexedParam, modifier: string | undefined): void {
  if (modifier === undefined) return;
  if (param.def.type === 'reference' && isTypeModifier(modifier)) return;
  if (param.recordField === 'id' && modifier === 'not') return;
  if (param.recordField || !MODIFIERS[param.def.type]?.has(modifier)) throw unsupported(param, modifier);
  if (param.phonetic) throw unsupported(param, modifier);
}

/** `:missing=true|false`: whether the parameter has no value at all (https://hl7.org/fhir/R4/search.html#missing). */
function compileMissing(param: IndexedParam, values: string[]): Filter {
  const path = param.recordField ?? entriesPath(param.def.code);
  return anyOf(
    values.map((v) => {
      if (v !== 'true' && v !== 'false') throw new FhirError('bad-request', `':missing' of '${param.def.code}' takes true or false, not '${v}'`);
      return { [path]: { $exists: v === 'false' } };
    }),
  );
}

/** `_id`: the record's id; `:not` excludes the ids. */
function compileId(modifier: string | undefined, values: string[]): Filter {
  if (values.some((v) => v.length === 0)) throw new FhirError('bad-request', "Search parameter '_id' needs a non-empty value");
  if (modifier === 'not') return { id: { $nin: values } };
  return values.length === 1 ? { id: values[0] } : { id: { $in: values } };
}

/** The entry predicate of one value of a (non-composite) parameter or component. */
function valuePredicate(def: SearchParamDef, modifier: string | undefined, value: string, context: CompileContext): Filter {
  switch (def.type) {
    case 'string':
      return compileStringValue(def.code, modifier as 'exact' | 'contains' | undefined, value);
    case 'uri':
      return compileUriValue(def.code, modifier as 'below' | 'above' | undefined, value);
    case 'date':
      return datePredicate(def.code, value, { lo: 'lo', hi: 'hi' }, context.now());
    case 'number':
      return compileNumberValue(def.code, value);
    case 'quantity':
      return compileQuantityValue(def.code, value);
    case 'reference':
      return modifier === 'identifier' ? referenceIdentifierPredicate(def, value) : referencePredicate(def, modifier, value, context.baseUrl);
    case 'token':
      if (modifier === 'text') return textPredicate(def.code, value);
      if (modifier === 'of-type') return ofTypePredicate(def.code, value);
      if (modifier === 'in' || modifier === 'not-in') return inValueSetPredicate(def.code, value, context.terminology);
      return systemCodePredicate(def.code, value);
    default:
      throw new FhirError('not-supported', `Search parameter '${def.code}' of type ${def.type} is not supported`);
  }
}

/**
 * One composite value, `a$b` (https://hl7.org/fhir/R4/search.html#composite): each part is a
 * value of its component's type (prefixes allowed), and all must hold on the same element.
 */
function compositePredicate(param: IndexedParam, value: string, context: CompileContext): Filter {
  const components = param.components ?? [];
  const parts = value.split('$');
  if (parts.length !== components.length) {
    const form = components.map((c) => `[${c.code}]`).join('$');
    throw new FhirError('bad-request', `Invalid value '${value}' for search parameter '${param.def.code}': expected ${form}`);
  }
  const predicate: Filter = {};
  components.forEach((c, i) => {
    const def: SearchParamDef = { code: c.code, type: c.type, resourceType: param.def.resourceType };
    predicate[indexKey(c.code)] = { $elemMatch: valuePredicate(def, undefined, parts[i], context) };
  });
  return predicate;
}

/**
 * The filter of one parameter occurrence: its values are OR-ed; each value's conditions hold on
 * one entry (`$elemMatch`). `:not` and `:not-in` are true negations: records with no entry
 * matching any of the values, including records without the element.
 */
export function compileParam(param: IndexedParam, modifier: string | undefined, values: string[], context: CompileContext): Filter {
  if (values.length === 0) throw new FhirError('bad-request', `Search parameter '${param.def.code}' needs a value`);
  if (modifier === 'missing') return compileMissing(param, values);
  checkModifier(param, modifier);
  if (param.recordField === 'id') return compileId(modifier, values);
  if (param.recordField === 'lastUpdated') {
    return anyOf(values.map((v) => datePredicate('_lastUpdated', v, { lo: 'lastUpdated', hi: 'lastUpdated' }, context.now())));
  }
  const path = entriesPath(param.def.code);
  if (param.phonetic) return anyOf(values.map((v) => allOf(compilePhoneticValue(param.def.code, v).map((p) => someEntry(path, p)))));
  const predicates = values.map((v) => (param.components ? compositePredicate(param, v, context) : valuePredicate(param.def, modifier, v, context)));
  if (modifier === 'not' || modifier === 'not-in') return noEntry(path, anyOf(predicates));
  return anyOf(predicates.map((p) => someEntry(path, p)));
}
