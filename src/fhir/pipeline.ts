import type { CapabilityStatement } from '@medplum/fhirtypes';
import type { AuditEntry, AuditSink } from '../audit/audit-sink.js';
import type { Authorizer } from '../auth/authorize.js';
import type { ConsentGate } from '../consent/gate.js';
import type { Logger } from '../logger.js';
import type { Compartment } from '../search/compartment.js';
import type { SearchIndex } from '../search/types.js';
import type { StorePort } from '../store/port.js';
import type { Validator } from '../validation/validator.js';
import type { WorkflowStep } from '../workflow/types.js';
import type { StorageCodec } from './codec.js';
import { FhirError } from './errors.js';
import { createExchange, type Exchange } from './exchange.js';
import { INTERACTIONS, interactionOf } from './interactions/table.js';
import { createKeyedLocks, type KeyedLocks } from './keyed-locks.js';
import { auditStep } from './pipeline/audit-step.js';
import { authorizeSteps } from './pipeline/authorize-step.js';
import { compose, type Step } from './pipeline/compose.js';
import { consentStep } from './pipeline/consent-step.js';
import { errorsStep } from './pipeline/errors-step.js';
import { requestStep } from './pipeline/request-step.js';
import type { Registry } from './registry.js';
import { createRouter, type Router } from './routes.js';
import type { FhirRequest, FhirResult } from './request.js';
import type { WriteUnit } from './write-unit.js';

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
  paging: { defaultPageSize: number; maxPageSize: number; maxResponseChars?: number };
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
  /** Runs a request through the whole pipeline (checks, authorization, interaction, audit); `unit` makes it an entry of that transaction. */
  execute(request: FhirRequest, unit?: WriteUnit): Promise<FhirResult>;
  /** Serializes conditional creates on the same criteria (one per process). */
  locks: KeyedLocks;
  /** The router of the interaction table, for bundle entries (the HTTP edge uses the same). */
  router: Router;
}

export interface Pipeline {
  /**
   * Runs one FHIR interaction: checks, authorization, consent, the interaction, audit. Throws FhirError only.
   * @param along records of earlier runs this one reports with its own, whatever its outcome (the
   *   lookups of an HL7 v2 message, run with a `unit` that kept their records: `ExchangeAudit.settled`)
   */
  execute(request: FhirRequest, unit?: WriteUnit, along?: readonly AuditEntry[]): Promise<FhirResult>;
  /**
   * Records a request that never ran (an HL7 v2 message refused before its transaction) as failed
   * with `cause`, through the same audit step as every other outcome, with `along` as `execute`. Never throws.
   */
  refuse(request: FhirRequest, cause: FhirError, along?: readonly AuditEntry[]): Promise<void>;
}

/**
 * The one pipeline every interaction goes through, whoever calls it (HTTP, bundles, HL7 v2), as
 * an onion of steps over a per-run exchange (issue 16): audit (outermost: one record for every
 * outcome) → errors → request checks → authorize → consent → the interaction's result checks →
 * the interaction (validate → encode → store, committed with its audit record).
 */
export function createPipeline(deps: PipelineDeps): Pipeline {
  const inner: InteractionDeps = { ...deps, locks: createKeyedLocks(), router: createRouter(INTERACTIONS), execute: (request, unit) => pipeline.execute(request, unit) };
  const authorize = authorizeSteps(deps.authorize);
  const steps: Step[] = [
    auditStep(deps.audit),
    errorsStep(deps.logger),
    requestStep(deps.registry),
    authorize.decide,
    ...(deps.consent ? [consentStep(deps.consent)] : []),
    authorize.filter,
  ];
  const run = compose(steps, (exchange: Exchange) => interactionOf(exchange.request.interaction).handler(exchange.request, inner, exchange));
  const audit = auditStep(deps.audit);
  const pipeline: Pipeline = {
    execute: (request, unit, along) => run(withAlong(createExchange(deps, request, deps.clock(), unit), along)),
    async refuse(request, cause, along) {
      await compose([audit], () => Promise.reject(cause))(withAlong(createExchange(deps, request, deps.clock()), along)).catch(() => undefined);
    },
  };
  return pipeline;
}

/** The exchange, reporting `along` with its own record (`ExchangeAudit.settled`). */
function withAlong(exchange: Exchange, along: readonly AuditEntry[] | undefined): Exchange {
  if (along?.length) exchange.audit.settled.push(...along);
  return exchange;
}
