import { FhirError } from './errors.js';
import type { StoredRecord } from '../store/port.js';

/** The weak ETag of a version, as FHIR prescribes (http.html#versioning): W/"3". */
export function etagOf(versionId: number | string): string {
  return `W/"${versionId}"`;
}

/** Parses `W/"3"`, `"3"` or `3` into a version number; anything else is a 400. */
export function parseEtag(value: string, header: string): number {
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(value.trim());
  if (!match) throw new FhirError('bad-request', `${header} must be a version ETag such as W/"3", got '${value.slice(0, 40)}'`);
  return Number(match[1]);
}

/**
 * Checks `If-Match` against the current version (http.html#concurrency).
 * Returns the version the write must find in the store; a mismatch now is a 412,
 * and a concurrent writer slipping in before the commit is caught by the store's version check.
 */
export function checkIfMatch(ifMatch: string | undefined, current: StoredRecord | undefined): number | undefined {
  if (ifMatch === undefined) return undefined;
  const wanted = parseEtag(ifMatch, 'If-Match');
  const actual = current && !current.deleted ? current.versionId : 0;
  if (wanted !== actual) {
    throw new FhirError('precondition-failed', `If-Match ${etagOf(wanted)} does not match the current version ${actual ? etagOf(actual) : '(none)'}`);
  }
  return wanted;
}

/**
 * Conditional read (http.html#cread): true when the client's copy is current,
 * by `If-None-Match` (ETag) or, absent that, `If-Modified-Since`.
 */
export function isNotModified(record: StoredRecord, ifNoneMatch?: string, ifModifiedSince?: string): boolean {
  if (ifNoneMatch !== undefined) {
    const tags = ifNoneMatch.split(',').map((t) => t.trim());
    return tags.includes('*') || tags.some((t) => /^(?:W\/)?"?(\d+)"?$/.exec(t)?.[1] === String(record.versionId));
  }
  if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    if (Number.isNaN(since)) return false; // RFC 9110: an invalid date is ignored
    // HTTP dates have second precision; compare at that precision.
    return Math.floor(Date.parse(record.lastUpdated) / 1000) <= Math.floor(since / 1000);
  }
  return false;
}
