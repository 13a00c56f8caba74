import type { AuditEvent } from '@medplum/fhirtypes';
import type { ConsentNote } from '../consent/types.js';
import type { Logger } from '../logger.js';
import type { FhirError } from '../fhir/errors.js';
import type { FhirRequest, FhirResult } from '../fhir/request.js';
import type { StoredRecord, StorePort, WriteOp } from '../store/port.js';

/** What the pipeline reports for an interaction, once, whatever its outcome. */
export interface AuditEntry {
  request: FhirRequest;
  result?: FhirResult;
  error?: FhirError;
  startedAt: Date;
  /** The versions the interaction wrote (as stored), when its record is committed with them: the entities of its event. */
  written?: readonly StoredRecord[];
  /** `AuditEvent.action`, from the interaction table (C, R, U, D; E for searches and operations). */
  action?: 'C' | 'R' | 'U' | 'D' | 'E';
  /** What the consent step decided on (break-glass, deciding Consents); from the request's exchange. */
  consent?: ConsentNote;
}

/** An event outside the FHIR interactions (login, token grant); the sink sets `recorded` and `source`. */
export type AuditEventDraft = Omit<AuditEvent, 'recorded' | 'source'>;

/**
 * Where audit records go. Every interaction is recorded exactly once, by the pipeline's audit step
 * (`src/fhir/pipeline/audit-step.ts`): a write together with its data (`commitWith`), anything else
 * after the run (`record`), before the response leaves.
 */
export interface AuditSink {
  /** Records an interaction that wrote nothing, or failed; durable before it resolves. */
  record(entry: AuditEntry): Promise<void>;
  /**
   * Commits data writes and the records of the interactions that made them in ONE `store.commit`:
   * the data never exists without its audit record. A failed commit rejects with the store's error
   * unchanged (VersionConflictError is retried by the callers) and records nothing.
   */
  commitWith(ops: readonly WriteOp[], entries: readonly AuditEntry[]): Promise<void>;
  /** Records a non-REST event (login, token grant), chained like the others; durable before it resolves. */
  recordEvent(event: AuditEventDraft): Promise<void>;
}

/** Logs who did what to which resource and how it ended: type and id only, never content. */
export function createLogAuditSink(logger: Logger, store: StorePort): AuditSink {
  const log = ({ request, result, error, startedAt, written, consent }: AuditEntry): void => {
    const version = result?.version ?? (written?.length === 1 ? { id: written[0].id, versionId: String(written[0].versionId) } : undefined);
    logger.info(
      {
        audit: {
          requestId: request.context.requestId,
          interaction: request.interaction,
          resourceType: request.resourceType,
          id: version?.id ?? request.id,
          versionId: version?.versionId ?? request.versionId,
          ...(written && written.length > 1 ? { written: written.map((r) => `${r.resourceType}/${r.id}/_history/${r.versionId}`) } : {}),
          actor: request.context.actor,
          clientId: request.context.clientId,
          source: request.context.source,
          purposeOfUse: request.context.purposeOfUse,
          consent,
          outcome: error ? error.code : (result?.kind ?? 'ok'),
          ms: Date.now() - startedAt.getTime(),
        },
      },
      'fhir interaction',
    );
  };
  return {
    async record(entry) {
      log(entry);
    },
    async commitWith(ops, entries) {
      if (ops.length > 0) await store.commit([...ops]);
      entries.forEach(log);
    },
    async recordEvent(event) {
      const who = event.agent?.find((a) => a.requestor)?.who;
      logger.info({ audit: { type: event.type?.code, subtype: event.subtype?.map((s) => s.code), outcome: event.outcome, outcomeDesc: event.outcomeDesc, who: who?.reference ?? who?.display } }, 'audit event');
    },
  };
}
