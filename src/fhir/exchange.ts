import type { AuditEntry } from '../audit/audit-sink.js';
import type { AccessDecision } from '../auth/authorize.js';
import { emptyConsentNote, type ConsentNote } from '../consent/types.js';
import type { StoredRecord, WriteOp } from '../store/port.js';
import { createLoader, type Loader, type LoaderDeps } from './loader.js';
import type { FhirRequest, FhirResult } from './request.js';
import type { WriteUnit } from './write-unit.js';

/**
 * One run of the pipeline (issue 16): the immutable request, and what the pipeline's steps decide
 * about it, each written by the one step that owns it and read by the steps inside it. The pipeline
 * creates it; nothing outlives the run. Replaces decisions once written onto a shared context.
 */
export interface Exchange {
  readonly request: FhirRequest;
  readonly startedAt: Date;
  /** What the authorizer returned (compartment, granted queries, a check of the result); `{}` when unrestricted. Set by the authorize step. */
  access: AccessDecision;
  /** What the consent step decided on (break-glass, deciding Consents), for the audit record. */
  readonly consent: ConsentNote;
  /** Set on the entries of a transaction: writes are staged there, and audit waits for the transaction's outcome. */
  readonly unit?: WriteUnit;
  /** The records this run loaded, shared by authorization, consent and the interaction (loaded and decoded once). */
  readonly records: Loader;
  /** What the audit step records; it alone writes audit (`src/fhir/pipeline/audit-step.ts`). */
  readonly audit: ExchangeAudit;
}

/** The audit state of one run, owned by the audit step. */
export interface ExchangeAudit {
  /**
   * Commits writes together with this run's audit record, in ONE store commit (the data never
   * exists without its record); the audit step then records nothing more. `record` says what the
   * run's record names (the versions written, or a transaction's result); `entries` (a transaction's
   * entries' records) go into the same commit.
   */
  commit(ops: readonly WriteOp[], record?: { result?: FhirResult; written?: readonly StoredRecord[] }, entries?: readonly AuditEntry[]): Promise<void>;
  /** Records of other runs this one reports with its own, whatever its outcome (entries of a failed transaction attempt). */
  readonly settled: AuditEntry[];
  /**
   * What the interaction returned, as the grant's check last shaped it: what the record of a run
   * refused after the interaction names (a read withheld by consent names what was withheld, so
   * it reaches that patient's trail).
   */
  result?: FhirResult;
}

/** A narrower view for code that only needs who is asking and what they were granted (search filters, conditional matches). */
export type AccessScope = Pick<Exchange, 'request' | 'access' | 'consent'>;

/** A new exchange; `commit` is replaced by the audit step of the pipeline that runs it. */
export function createExchange(deps: LoaderDeps, request: FhirRequest, startedAt: Date, unit?: WriteUnit): Exchange {
  return {
    request,
    startedAt,
    access: {},
    consent: emptyConsentNote(),
    ...(unit ? { unit } : {}),
    records: createLoader(deps, unit),
    audit: {
      commit: () => Promise.reject(new Error('exchange: no audit step to commit with')),
      settled: [],
    },
  };
}
