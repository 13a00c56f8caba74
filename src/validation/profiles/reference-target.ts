import { isObject, type JsonObject } from '../json-items.js';

// A literal reference ends in Type/id, optionally followed by a version (https://hl7.org/fhir/R4/references.html#literal).
const LITERAL = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * The resource type a Reference points to, when it can be told without resolving it: from a
 * literal `reference` (relative or absolute URL), a contained `#id`, or `Reference.type`.
 * Undefined for logical references, `urn:uuid:` references and anything else unknowable.
 */
export function referencedType(reference: JsonObject, container: JsonObject): string | undefined {
  const literal = reference.reference;
  if (typeof literal === 'string') {
    if (literal.startsWith('#')) {
      const target = Array.isArray(container.contained) ? container.contained.find((c) => isObject(c) && `#${String(c.id)}` === literal) : undefined;
      return isObject(target) && typeof target.resourceType === 'string' ? target.resourceType : undefined;
    }
    const match = LITERAL.exec(literal);
    if (match) return match[1];
  }
  return typeof reference.type === 'string' ? reference.type : undefined;
}
