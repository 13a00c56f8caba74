import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/**
 * FhirGate's stable error codes. Each maps to an HTTP status in exactly one place
 * (`http/status.ts`) and, later, to an HL7 ACK code in exactly one place.
 * Clients may rely on them: they appear in `issue.details.coding` of every error outcome.
 */
export const ERROR_CODES = {
  'bad-request': 'invalid',
  'invalid-json': 'structure',
  'invalid-structure': 'structure',
  'invalid-resource': 'processing',
  'invalid-id': 'value',
  'id-mismatch': 'invalid',
  'type-mismatch': 'invalid',
  'unknown-type': 'not-supported',
  'unknown-route': 'not-found',
  'not-found': 'not-found',
  gone: 'deleted',
  'method-not-allowed': 'not-supported',
  'not-supported': 'not-supported',
  'unsupported-media-type': 'not-supported',
  'not-acceptable': 'not-supported',
  'payload-too-large': 'too-costly',
  'headers-too-large': 'too-costly',
  'precondition-failed': 'conflict',
  'version-conflict': 'conflict',
  'patch-failed': 'processing',
  'missing-version': 'required',
  'prescription-not-found': 'not-found',
  'prescription-not-active': 'business-rule',
  'prescription-mismatch': 'business-rule',
  'prescription-exhausted': 'business-rule',
  'prescription-expired': 'business-rule',
  'requester-mismatch': 'business-rule',
  'slot-not-found': 'not-found',
  'slot-unavailable': 'business-rule',
  'slot-mismatch': 'business-rule',
  'appointment-overlap': 'business-rule',
  unauthorized: 'login',
  forbidden: 'forbidden',
  'store-unavailable': 'transient',
  internal: 'exception',
} as const satisfies Record<string, OperationOutcomeIssue['code']>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Code system under which FhirGate's error codes are published in OperationOutcome.issue.details. */
export const ERROR_CODE_SYSTEM = 'https://fhirgate.dev/CodeSystem/error-code';

/** Builds one error issue carrying FhirGate's stable code. */
export function errorIssue(code: ErrorCode, diagnostics: string, expression?: string[]): OperationOutcomeIssue {
  return {
    severity: 'error',
    code: ERROR_CODES[code],
    details: { coding: [{ system: ERROR_CODE_SYSTEM, code }], text: diagnostics },
    diagnostics,
    ...(expression?.length ? { expression } : {}),
  };
}

/**
 * The one error type of FhirGate. Everything that fails a FHIR interaction throws this;
 * the edges (HTTP, HL7 ACK) translate it, nothing else inspects error messages.
 */
export class FhirError extends Error {
  readonly code: ErrorCode;
  readonly outcome: OperationOutcome;
  /** Extra HTTP-agnostic hints for the edge, e.g. the `Allow` methods of a 405. */
  readonly hints: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, diagnostics: string, options: { issues?: OperationOutcomeIssue[]; expression?: string[]; hints?: Record<string, string> } = {}) {
    super(diagnostics);
    this.name = 'FhirError';
    this.code = code;
    this.hints = options.hints ?? {};
    const head = errorIssue(code, diagnostics, options.expression);
    this.outcome = { resourceType: 'OperationOutcome', issue: options.issues?.length ? [head, ...options.issues] : [head] };
  }
}

/** Turns anything thrown into a FhirError, hiding internals (no stack traces or messages of unknown errors leave the server). */
export function toFhirError(err: unknown): FhirError {
  if (err instanceof FhirError) return err;
  return new FhirError('internal', 'An internal error occurred; it has been logged with the request id.');
}
