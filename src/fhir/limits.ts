import { FhirError } from './errors.js';

/**
 * Bounds on what one request may make the server hold or walk (issue 15). FHIR resources nest a
 * few dozen levels at most (Questionnaire items, nested extensions); the walkers of validation,
 * search extraction and encryption recurse, so deeper input must stop at the edge, not overflow
 * the stack. Arrays are bounded so that one resource cannot be a megabyte list of names.
 */
export const MAX_JSON_DEPTH = 100;
export const MAX_ARRAY_LENGTH = 10_000;
/**
 * The most JSON one response may carry (characters), counted while it is built: a search page with
 * its includes, a batch-response. Past it the request is a 413, before the heap is at risk (issue 15).
 */
export const MAX_RESPONSE_CHARS = 64 * 1024 * 1024;

/**
 * Counts the JSON of what a response will carry; throws `payload-too-large` once over `limit`
 * (FHIR_MAX_RESPONSE_BYTES). `json`: the value's JSON, when the caller has it already.
 */
export function responseBudget(what: string, limit = MAX_RESPONSE_CHARS): (value: unknown, json?: string) => void {
  let used = 0;
  return (value, json) => {
    used += json !== undefined ? json.length : value === undefined ? 0 : JSON.stringify(value).length;
    if (used > limit) {
      throw new FhirError('payload-too-large', `The ${what} would exceed ${+(limit / 1024 / 1024).toFixed(2)} MB; ask for less (a smaller _count, fewer entries, no _revinclude=*)`);
    }
  };
}

/** Longest query parameter name and value: longer ones are refused without being logged or echoed. */
export const MAX_PARAM_NAME = 256;
export const MAX_PARAM_VALUE = 8_192;

/**
 * Checks a parsed JSON body without recursion: nesting at most MAX_JSON_DEPTH, arrays at most
 * MAX_ARRAY_LENGTH long, except the named arrays whose own limit applies elsewhere (Bundle.entry,
 * FHIR_MAX_BUNDLE_ENTRIES).
 */
export function assertBoundedJson(value: unknown, exempt: ReadonlySet<string> = new Set(['entry'])): void {
  const stack: Array<[unknown, number, string]> = [[value, 1, '']];
  while (stack.length > 0) {
    const [node, depth, key] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > MAX_JSON_DEPTH) throw new FhirError('invalid-structure', `The body nests deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(node)) {
      if (node.length > MAX_ARRAY_LENGTH && !exempt.has(key)) {
        throw new FhirError('payload-too-large', `'${key.slice(0, 64)}' has ${node.length} items; at most ${MAX_ARRAY_LENGTH} are accepted`);
      }
      for (const item of node) stack.push([item, depth + 1, key]);
    } else {
      for (const [k, v] of Object.entries(node)) stack.push([v, depth + 1, k]);
    }
  }
}

/** Refuses over-long query parameter names or values, quoting neither (they may hold patient data). */
export function assertParamSize(name: string, value: string): void {
  if (name.length > MAX_PARAM_NAME) throw new FhirError('bad-request', `A query parameter name is longer than ${MAX_PARAM_NAME} characters`);
  if (value.length > MAX_PARAM_VALUE) throw new FhirError('bad-request', `The value of a query parameter is longer than ${MAX_PARAM_VALUE} characters`);
}
