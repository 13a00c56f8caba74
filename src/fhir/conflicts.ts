import type { VersionConflictError } from '../store/port.js';
import { FhirError } from './errors.js';

/**
 * The one translation of a lost race (http.html#concurrency): when the client pinned the version
 * it read (If-Match), another writer slipping in makes it stale, 412; otherwise it is a 409 the
 * client may retry (what reaches the client was not re-run, see `runVersioned`).
 * @param what how the conflict reads, e.g. `Patient/1 was changed by another request`
 */
export function conflictError(err: VersionConflictError, pinned: boolean, what = `${err.resourceType}/${err.id} was changed by another request`): FhirError {
  return pinned
    ? new FhirError('precondition-failed', `${what}; If-Match no longer holds`)
    : new FhirError('version-conflict', `${what}; read it again and retry`);
}
