import type { Resource } from '@medplum/fhirtypes';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { FhirError } from '../errors.js';

/** True when the body is a JSON Patch document (RFC 6902: an array of operations). */
export function isJsonPatch(body: unknown): body is unknown[] {
  return Array.isArray(body);
}

// Errors of fast-json-patch that mean the document itself is malformed (400); the others mean it does not apply (422).
const MALFORMED = new Set([
  'SEQUENCE_NOT_AN_ARRAY',
  'OPERATION_NOT_AN_OBJECT',
  'OPERATION_OP_INVALID',
  'OPERATION_PATH_INVALID',
  'OPERATION_FROM_REQUIRED',
  'OPERATION_VALUE_REQUIRED',
  'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED',
]);

/**
 * Applies a JSON Patch (RFC 6902, http.html#patch) to a copy of the resource, every operation
 * validated first; prototype-changing paths are refused by the library. A malformed document is
 * a 400, one that does not apply (a failed `test`, a missing path) a 422.
 */
export function applyJsonPatch(resource: Resource, operations: unknown[]): Resource {
  if (operations.length === 0) throw new FhirError('bad-request', 'The JSON Patch has no operation');
  try {
    return jsonpatch.applyPatch(resource, operations as Operation[], true, false).newDocument;
  } catch (err) {
    const name = (err as { name?: string }).name;
    const index = (err as { index?: number }).index;
    const where = index === undefined ? '' : ` (operation ${index + 1})`;
    if (name === 'TEST_OPERATION_FAILED') throw new FhirError('patch-failed', `A JSON Patch test failed${where}; the resource was not changed`);
    if (name && MALFORMED.has(name)) throw new FhirError('bad-request', `The JSON Patch is malformed${where}: ${name.toLowerCase().replace(/_/g, ' ')}`);
    if (name === 'OPERATION_PATH_UNRESOLVABLE' || name === 'OPERATION_PATH_CANNOT_ADD' || name === 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX' || name === 'OPERATION_FROM_UNRESOLVABLE') {
      throw new FhirError('patch-failed', `The JSON Patch does not apply to the resource${where}: ${name.toLowerCase().replace(/_/g, ' ')}`);
    }
    throw new FhirError('bad-request', `The JSON Patch could not be applied${where}`);
  }
}
