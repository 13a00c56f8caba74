import { FhirError } from '../../fhir/errors.js';

/** Comparison prefixes of ordered parameter types (https://hl7.org/fhir/R4/search.html#prefix). */
export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

const PREFIXED = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)(.*)$/;

/** Splits `ge2024-01-01` into `ge` and `2024-01-01`; no prefix means `eq`. */
export function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const m = PREFIXED.exec(value);
  return m ? { prefix: m[1] as Prefix, rest: m[2] } : { prefix: 'eq', rest: value };
}

/** The 400 of a value that is not of the parameter's type. */
export function badValue(code: string, value: string, expected: string): FhirError {
  return new FhirError('bad-request', `Invalid value '${value}' for search parameter '${code}': expected ${expected}`);
}
