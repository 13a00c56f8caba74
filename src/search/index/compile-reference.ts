import { FhirError } from '../../fhir/errors.js';
import type { Filter } from '../../store/port.js';
import type { SearchParamDef } from '../types.js';
import { systemCodePredicate } from './compile-token.js';
import { parseReference } from './extract-reference.js';
import { escapeRegex } from './text.js';

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
  if (ID.test(value)) return type === undefined ? bareId(def, value) : { r: `${type}/${value}` };
  const parsed = parseReference(value, baseUrl);
  if (!parsed) {
    throw new FhirError('bad-request', `Invalid value '${value}' for search parameter '${def.code}': expected Type/id, an id or an absolute URL`);
  }
  if (type !== undefined && parsed.type !== type) {
    throw new FhirError('bad-request', `Value '${value}' of '${def.code}:${type}' does not reference a ${type}`);
  }
  return { r: parsed.r };
}

/**
 * A bare id: a reference to a resource of that id of any of the parameter's target types. Asked
 * as those `Type/id` values of `r`, one index probe each (145 for a `Reference(Any)` parameter such
 * as `AuditEvent?entity=`), so entries need not keep the id apart: that was an index row per
 * reference, on a random page of the value index, written with every resource (a search's
 * AuditEvent names each result: half of what moving it into the index cost, issue 13). A parameter
 * without targets (one R4 parameter: a canonical) matches any type's name before the id.
 */
function bareId(def: SearchParamDef, id: string): Filter {
  const targets = def.target ?? [];
  if (targets.length === 0) return { r: { $regex: `^[A-Z][A-Za-z]+/${escapeRegex(id)}$` } };
  return targets.length === 1 ? { r: `${targets[0]}/${id}` } : { r: { $in: targets.map((t) => `${t}/${id}`) } };
}

/** `:identifier`: the reference's logical identifier, as `system|value`, `|value`, `system|` or `value`. */
export function referenceIdentifierPredicate(def: SearchParamDef, value: string): Filter {
  return systemCodePredicate(def.code, value, 'is', 'iv');
}
