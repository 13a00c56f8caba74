import type { ConsentNote } from '../consent/gate.js';
import type { Logger } from '../logger.js';
import type { FhirError } from '../fhir/errors.js';
import type { FhirRequest, FhirResult } from '../fhir/request.js';

/** What the pipeline reports for every interaction, once, whatever its outcome. */
export interface AuditEntry {
  request: FhirRequest;
  result?: FhirResult;
  error?: FhirError;
  startedAt: Date;
}

/**
 * Where audit records go. The pipeline calls `record` exactly once per interaction (in its `finally`).
 * Today: a structured log line; the consent and audit issue persists AuditEvents through this seam.
 */
export interface AuditSink {
  record(entry: AuditEntry): Promise<void>;
}

/** Logs who did what to which resource and how it ended: type and id only, never content. */
export function createLogAuditSink(logger: Logger, consentNote?: (request: FhirRequest) => ConsentNote | undefined): AuditSink {
  return {
    async record({ request, result, error, startedAt }) {
      logger.info(
        {
          audit: {
            requestId: request.context.requestId,
            interaction: request.interaction,
            resourceType: request.resourceType,
            id: result?.version?.id ?? request.id,
            versionId: result?.version?.versionId ?? request.versionId,
            actor: request.context.actor,
            clientId: request.context.clientId,
            source: request.context.source,
            purposeOfUse: request.context.purposeOfUse,
            consent: consentNote?.(request),
            outcome: error ? error.code : result?.kind,
            ms: Date.now() - startedAt.getTime(),
          },
        },
        'fhir interaction',
      );
    },
  };
}
