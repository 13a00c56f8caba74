import type { CapabilityStatement } from '@medplum/fhirtypes';
import type { AuditSink } from '../audit/audit-sink.js';
import type { Authorizer } from '../auth/authorize.js';
import type { ConsentGate } from '../consent/gate.js';
import type { Logger } from '../logger.js';
import type { Compartment } from '../search/compartment.js';
import type { SearchIndex } from '../search/types.js';
import { StoreUnavailableError, VersionConflictError, type StorePort } from '../store/port.js';
import type { Validator } from '../validation/validator.js';
import type { WorkflowStep } from '../workflow/types.js';
import type { StorageCodec } from './codec.js';
import { FhirError, toFhirError } from './errors.js';
import { assertValidId } from './ids.js';
import { INTERACTIONS } from './interactions/index.js';
import { createKeyedLocks, type KeyedLocks } from './keyed-locks.js';
import type { Registry } from './registry.js';
import type { FhirRequest, FhirResult } from './request.js';

/** Everything an interaction may use; built once in `app.ts` and passed down explicitly. */
export interface PipelineDeps {
  registry: Registry;
  store: StorePort;
  validator: Validator;
  codec: StorageCodec;
  authorize: Authorizer;
  audit: AuditSink;
  logger: Logger;
  /** The server's CapabilityStatement, generated from the registry once, when first asked for (it compiles every type's search parameters). */
  capabilityStatement: () => CapabilityStatement;
  clock: () => Date;
  paging: { defaultPageSize: number; maxPageSize: number };
  /** Search parameters, write-time extraction and query compilation (issue 3). */
  searchIndex: SearchIndex;
  /** The official Patient CompartmentDefinition, for compartment search and $everything. */
  patientCompartment: Compartment;
  /** Bundle and conditional-interaction settings (FHIR_MAX_BUNDLE_ENTRIES, FHIR_CONDITIONAL_DELETE_MULTIPLE). */
  rest: { maxBundleEntries: number; conditionalDeleteMultiple: boolean };
  /** Clinical workflow rules on the write path (issue 17, `src/workflow/`); absent when FHIR_WORKFLOW_RULES=false. */
  workflow?: WorkflowStep;
  /** The patient's Consents, decided after authorization (issue 8); absent in pipelines built without it. */
  consent?: ConsentGate;
}

/** What interactions get: the dependencies, plus the pipeline itself for nested requests (bundle entries). */
export interface InteractionDeps extends PipelineDeps {
  /** Runs a request through the whole pipeline (checks, authorization, interaction, audit). */
  execute: Pipeline['execute'];
  /** Serializes conditional creates on the same criteria (one per process). */
  locks: KeyedLocks;
}

export interface Pipeline {
  /** Runs one FHIR interaction: checks, authorization, the interaction, audit. Throws FhirError only. */
  execute(request: FhirRequest): Promise<FhirResult>;
}

/**
 * The one pipeline every interaction goes through, whoever calls it (HTTP, bundles, HL7 v2):
 * request checks → authorize → consent → interaction (validate → encode → store + audit) → audit, written once:
 * with the data for a write (`commitWrites`), else in `finally`.
 */
export function createPipeline(deps: PipelineDeps): Pipeline {
  const inner: InteractionDeps = { ...deps, locks: createKeyedLocks(), execute: (request) => pipeline.execute(request) };
  const pipeline: Pipeline = {
    async execute(incoming) {
      const startedAt = deps.clock();
      // A copy per run: whether its writes were committed with their audit record belongs to this run only.
      const audit = { startedAt, committed: false };
      const request: FhirRequest = { ...incoming, audit };
      let result: FhirResult | undefined;
      let error: FhirError | undefined;
      try {
        if (request.resourceType !== undefined) deps.registry.get(request.resourceType);
        if (request.id !== undefined) assertValidId(request.id);
        const checkResult = await deps.authorize(request);
        const checkConsent = await deps.consent?.check(request);
        if (checkConsent && typeof checkConsent !== 'function') return (result = checkConsent.answer);
        result = await INTERACTIONS[request.interaction](request, inner);
        if (checkResult) result = await checkResult(result);
        if (checkConsent) result = await checkConsent(result);
        return result;
      } catch (err) {
        error = translate(err, deps.logger, request);
        // What the interaction could not find must not say more than the consent gate lets it (a 410 of a withheld resource).
        if (deps.consent) error = await deps.consent.checkError(request, error).catch(() => error!);
        throw error;
      } finally {
        // An entry of a transaction is audited once the transaction's outcome is known (write-unit.ts);
        // a write was recorded in its own commit (write.ts), unless it failed after committing.
        if (request.unit) request.unit.deferAudit({ request, result, error, startedAt });
        else if (error || !audit.committed) await deps.audit.record({ request, result, error, startedAt });
      }
    },
  };
  return pipeline;
}

/** Maps store failures to FHIR errors; unknown errors are logged here and hidden from the client. */
function translate(err: unknown, logger: Logger, request: FhirRequest): FhirError {
  if (err instanceof FhirError) return err;
  if (err instanceof VersionConflictError) {
    return new FhirError('version-conflict', `${err.resourceType}/${err.id} was changed by another request; read it again and retry`);
  }
  if (err instanceof StoreUnavailableError) {
    logger.error({ err, requestId: request.context.requestId }, 'store unavailable');
    return new FhirError('store-unavailable', 'The data store is temporarily unavailable; retry later', { hints: { retryAfter: '5' } });
  }
  logger.error({ err, requestId: request.context.requestId, interaction: request.interaction }, 'unexpected error');
  return toFhirError(err);
}
