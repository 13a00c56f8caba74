import type { ErrorCode } from '../fhir/errors.js';
import type { ResultKind } from '../fhir/request.js';

/** The one place FhirGate's error codes become HTTP statuses (http.html, operationoutcome.html). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  'bad-request': 400,
  'invalid-json': 400,
  'invalid-structure': 400,
  'invalid-resource': 422,
  'invalid-id': 400,
  'id-mismatch': 400,
  'type-mismatch': 400,
  'unknown-type': 404,
  'unknown-route': 404,
  'not-found': 404,
  gone: 410,
  'method-not-allowed': 405,
  'not-supported': 501,
  'unsupported-media-type': 415,
  'not-acceptable': 406,
  'payload-too-large': 413,
  'headers-too-large': 431,
  'precondition-failed': 412,
  'version-conflict': 409,
  'patch-failed': 422,
  'missing-version': 428,
  'prescription-not-found': 409,
  'prescription-not-active': 409,
  'prescription-mismatch': 422,
  'prescription-exhausted': 409,
  'prescription-expired': 409,
  'requester-mismatch': 422,
  'slot-not-found': 409,
  'slot-unavailable': 409,
  'slot-mismatch': 422,
  'appointment-overlap': 409,
  unauthorized: 401,
  forbidden: 403,
  'store-unavailable': 503,
  internal: 500,
};

export const RESULT_STATUS: Readonly<Record<ResultKind, number>> = {
  ok: 200,
  created: 201,
  'not-modified': 304,
};
