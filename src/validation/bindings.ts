import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { codeGrammar } from './grammar-codes.js';
import { makeIssue, quote } from './issues.js';
import { isObject, type JsonObject } from './json-items.js';
import type { Terminology } from './terminology.js';

/** Datatypes whose `system` + `code` carry a coded value (Quantity and its specialisations). */
const QUANTITY_TYPES = new Set(['Quantity', 'Age', 'Count', 'Distance', 'Duration', 'Money', 'SimpleQuantity', 'MoneyQuantity']);

/**
 * Checks one element occurrence against a `required` binding
 * (https://hl7.org/fhir/R4/terminologies.html#required).
 *
 * A ValueSet that is not held locally, or that cannot be expanded from local content
 * (it draws on SNOMED CT, UCUM, BCP-13 MIME types, BCP-47 languages, ISO 4217 currencies...),
 * is skipped: without the code system we cannot tell a valid code from an invalid one, and a
 * false rejection would be worse than an unchecked code. MIME types and currencies get a
 * syntax check instead (see `grammar-codes.ts`).
 */
export function checkRequiredBinding(
  terminology: Terminology,
  valueSet: string,
  type: string,
  value: unknown,
  location: string,
  profile?: string,
): OperationOutcomeIssue | undefined {
  if (value === '') return undefined; // an empty string is a structure error (schema-prep.ts), not a wrong code
  const grammar = codeGrammar(valueSet);
  if (grammar) {
    const code = typeof value === 'string' ? value : isObject(value) && typeof value.code === 'string' ? value.code : undefined;
    if (code === undefined || grammar.test(code)) return undefined;
    return makeIssue('error', 'code-invalid', `The code ${quote(code)} is not a valid code of ${valueSet}${profile ? ` (profile ${profile})` : ''}`, location);
  }
  if (!terminology.canExpand(valueSet)) return undefined;
  const name = terminology.title(valueSet);
  const target = `the required value set ${name ? `'${name}' ` : ''}(${valueSet})${profile ? ` of profile ${profile}` : ''}`;
  const fail = (what: string): OperationOutcomeIssue => makeIssue('error', 'code-invalid', `${what} is not in ${target}`, location);

  if (typeof value === 'string') {
    return terminology.validateCode(valueSet, undefined, value) ? undefined : fail(`The code ${quote(value)}`);
  }
  if (!isObject(value)) return undefined;
  if (type === 'Coding' || QUANTITY_TYPES.has(type)) {
    if (typeof value.code !== 'string') return undefined; // nothing coded to check
    return codingIn(terminology, valueSet, value) ? undefined : fail(`The code ${describe(value)}`);
  }
  if (type === 'CodeableConcept') {
    const codings = (Array.isArray(value.coding) ? value.coding : []).filter(isObject).filter((c) => typeof c.code === 'string');
    if (codings.some((c) => codingIn(terminology, valueSet, c))) return undefined;
    if (codings.length === 0) {
      return makeIssue('error', 'code-invalid', `No coding is provided, but a code from ${target} is required`, location);
    }
    return makeIssue('error', 'code-invalid', `None of the codings (${codings.map(describe).join(', ')}) is in ${target}`, location);
  }
  return undefined;
}

function codingIn(terminology: Terminology, valueSet: string, coding: JsonObject): boolean {
  const system = typeof coding.system === 'string' ? coding.system : undefined;
  return terminology.validateCode(valueSet, system, coding.code as string);
}

function describe(coding: JsonObject): string {
  return typeof coding.system === 'string' ? `${quote(coding.code)} from system '${coding.system}'` : quote(coding.code);
}
