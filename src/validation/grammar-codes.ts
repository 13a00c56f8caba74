/**
 * Code systems defined by a grammar rather than a list, which no local expansion can hold,
 * but whose syntax can still be checked. Used for required bindings whose ValueSet is the
 * whole of such a system: a value that does not even parse cannot be a member.
 *
 * - MIME types, BCP-13 (RFC 6838 §4.2): `type/subtype` of restricted-name characters, then
 *   optional `; parameter=value` pairs (e.g. `text/plain; charset=utf-8`).
 * - Currencies, ISO 4217: three upper-case letters.
 *
 * Languages (BCP-47) are bound `preferred`/`extensible` in the served types, so they need no check.
 */
const RESTRICTED_NAME = "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}";
const GRAMMARS: ReadonlyMap<string, RegExp> = new Map([
  ['http://hl7.org/fhir/ValueSet/mimetypes', new RegExp(`^${RESTRICTED_NAME}/${RESTRICTED_NAME}(\\s*;\\s*[A-Za-z0-9!#$&^_.+-]+=("[^"]*"|[^;\\s]+))*$`)],
  ['http://hl7.org/fhir/ValueSet/currencies', /^[A-Z]{3}$/],
]);

/** The syntax of the codes of a grammar-defined ValueSet, if it is one. */
export function codeGrammar(valueSet: string): RegExp | undefined {
  return GRAMMARS.get(valueSet);
}
