import { randomUUID } from 'node:crypto';
import { FhirError } from './errors.js';

// R4 `id` datatype: [A-Za-z0-9\-\.]{1,64} (datatypes.html#id)
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

/** Throws `invalid-id` (400) unless the value is a legal FHIR logical id. */
export function assertValidId(id: string, what = 'id'): void {
  if (!ID_PATTERN.test(id)) {
    throw new FhirError('invalid-id', `'${id.slice(0, 80)}' is not a valid FHIR ${what} (1-64 characters of A-Z a-z 0-9 - .)`);
  }
}

/** Server-assigned logical ids are random UUIDs: unguessable, and unique without coordination between processes. */
export function newId(): string {
  return randomUUID();
}

/** Parses a version id from a URL segment; versions are positive integers in FhirGate. */
export function parseVersionId(vid: string): number {
  assertValidId(vid, 'version id');
  const n = Number(vid);
  if (!Number.isSafeInteger(n) || n < 1) throw new FhirError('not-found', `Version '${vid}' does not exist`);
  return n;
}
