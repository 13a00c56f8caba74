import type { Resource } from '@medplum/fhirtypes';
import { informational } from './outcome.js';
import type { FhirRequest, FhirResult, ResultKind } from './request.js';
import type { StoredRecord } from '../store/port.js';
import { versionOf } from './loader.js';

/**
 * The result of a write, shaped by `Prefer: return=` (http.html#ops):
 * the resource by default, nothing for `minimal`, an OperationOutcome on request.
 */
export function writeResult(request: FhirRequest, kind: ResultKind, record: StoredRecord, resource: Resource | undefined, message: string): FhirResult {
  const base: FhirResult = { kind, version: versionOf(record) };
  switch (request.preferReturn) {
    case 'minimal':
      return base;
    case 'OperationOutcome':
      return { ...base, outcome: informational(message) };
    default:
      return resource ? { ...base, resource } : { ...base, outcome: informational(message) };
  }
}
