import { STATUS_CODES } from 'node:http';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
// The one table of statuses (plain data, no framework): a response Bundle states each entry's HTTP status.
import { HTTP_STATUS, RESULT_STATUS } from '../../http/status.js';
import type { FhirError } from '../errors.js';
import { newId } from '../ids.js';
import { etagOf } from '../preconditions.js';
import type { FhirResult } from '../request.js';
import type { EntryMethod } from './entries.js';

function status(code: number): string {
  return `${code} ${STATUS_CODES[code] ?? ''}`.trim();
}

/**
 * The response entry of a successful entry (bundle.html#transaction-response): status, and for a
 * version its location, etag and lastModified; the resource (or the outcome) as `Prefer` asked.
 */
export function successEntry(result: FhirResult, method: EntryMethod | undefined, baseUrl: string): BundleEntry {
  const v = result.version;
  const code = RESULT_STATUS[result.kind];
  const resource = method === 'HEAD' ? undefined : result.resource;
  return {
    ...(v && resource ? { fullUrl: `${baseUrl}/${v.resourceType}/${v.id}` } : {}),
    ...(resource ? { resource } : {}),
    response: {
      status: status(code),
      ...(v && (method === 'POST' || method === 'PUT' || method === 'PATCH') ? { location: `${v.resourceType}/${v.id}/_history/${v.versionId}` } : {}),
      ...(v ? { etag: etagOf(v.versionId), lastModified: v.lastUpdated } : {}),
      ...(result.outcome && !resource ? { outcome: result.outcome } : {}),
    },
  };
}

/** The response entry of a failed batch entry: its status and OperationOutcome. */
export function errorEntry(error: FhirError): BundleEntry {
  return { response: { status: status(HTTP_STATUS[error.code]), outcome: error.outcome } };
}

/** A `batch-response` or `transaction-response` Bundle, entries in the order of the request. */
export function responseBundle(type: 'batch-response' | 'transaction-response', entries: BundleEntry[], now: Date): Bundle {
  return { resourceType: 'Bundle', id: newId(), meta: { lastUpdated: now.toISOString() }, type, entry: entries };
}
