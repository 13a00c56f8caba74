import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { FhirError } from './errors.js';
import type { FhirRequest } from './request.js';

/**
 * The input of an operation as a Parameters resource (operations.html#request): the POST body, or
 * for GET the query parameters, each a `valueString` the operation parses. A body that is not a
 * Parameters resource is refused; query parameters and a body are not mixed.
 */
export function operationInput(request: FhirRequest, operation: string): Parameters {
  if (request.body !== undefined) {
    const body = request.body as Partial<Parameters> | null;
    if (!body || typeof body !== 'object' || body.resourceType !== 'Parameters') throw new FhirError('bad-request', `${operation} takes a Parameters resource as its body`);
    if (body.parameter !== undefined && !Array.isArray(body.parameter)) throw new FhirError('bad-request', `${operation}: Parameters.parameter must be an array`);
    return body as Parameters;
  }
  const parameter = Object.entries(request.params).flatMap(([name, values]) => values.map((valueString): ParametersParameter => ({ name, valueString })));
  return { resourceType: 'Parameters', parameter };
}

/** Every input parameter named `name`. */
export function inputsNamed(input: Parameters, name: string): ParametersParameter[] {
  return (input.parameter ?? []).filter((p) => p?.name === name);
}

/** The one input parameter named `name`, if any; a repeated one is a 400. */
export function inputNamed(input: Parameters, name: string, operation: string): ParametersParameter | undefined {
  const found = inputsNamed(input, name);
  if (found.length > 1) throw new FhirError('bad-request', `${operation}: parameter '${name}' may appear only once`);
  return found[0];
}

/** A boolean input: `valueBoolean`, or `true`/`false` as a string (GET). */
export function booleanInput(input: Parameters, name: string, operation: string): boolean | undefined {
  const p = inputNamed(input, name, operation);
  if (!p) return undefined;
  if (typeof p.valueBoolean === 'boolean') return p.valueBoolean;
  if (p.valueString === 'true' || p.valueString === 'false') return p.valueString === 'true';
  throw new FhirError('bad-request', `${operation}: parameter '${name}' must be a boolean`);
}

/** A positive integer input: `valueInteger` / `valuePositiveInt`, or digits as a string (GET). */
export function integerInput(input: Parameters, name: string, operation: string): number | undefined {
  const p = inputNamed(input, name, operation);
  if (!p) return undefined;
  const raw = p.valueInteger ?? p.valuePositiveInt ?? (p.valueString !== undefined && /^\d{1,9}$/.test(p.valueString) ? Number(p.valueString) : undefined);
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 1) throw new FhirError('bad-request', `${operation}: parameter '${name}' must be a positive integer`);
  return raw;
}
