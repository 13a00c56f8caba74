import { FhirError } from '../../fhir/errors.js';
import type { Filter } from '../../store/port.js';
import type { SearchParamDef } from '../types.js';
import { systemCodePredicate } from './compile-token.js';
import { parseReference } from './extract-reference.js';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const TYPE = /^[A-Z][A-Za-z]+$/;

/** True when `modifier` names a resource type, as in `subject:Patient=123`. */
export function isTypeModifier(modifier: string): boolean {
  return TYPE.test(modifier);
}

/**
 * One reference value (https://hl7.org/fhir/R4/search.html#reference): `Type/id`, an absolute
 * URL (made relative when it points to this server), or a bare `id` matching a target of any
 * type. With a type modifier (`subject:Patient=123`) a bare id means `Patient/123`.
 */
export function referencePredicate(def: SearchParamDef, type: string | undefined, value: string, baseUrl: string | undefined): Filter {
  if (type !== undefined && def.target && !def.target.includes(type)) {
    throw new FhirError('bad-request', `'${type}' is not a target type of search parameter '${def.code}' (targets: ${def.target.join(', ')})`);
  }
  if (ID.test(value)) return type === undefined ? { i: value } : { r: `${type}/${value}` };
  const parsed = parseReference(value, baseUrl);
  if (!parsed) {
    throw new FhirError('bad-request', `Invalid value '${value}' for search parameter '${def.code}': expected Type/id, an id or an absolute URL`);
  }
  if (type !== undefined && parsed.type !== type) {
    throw new FhirError('bad-request', `Value '${value}' of '${def.code}:${type}' does not reference a ${type}`);
  }
  return { r: parsed.r };
}

/** `:identifier`: the reference's logical identifier, as `system|value`, `|value`, `system|` or `value`. */
export function referenceIdentifierPredicate(def: SearchParamDef, value: string): Filter {
  return systemCodePredicate(def.code, value, 'is', 'iv');
}
