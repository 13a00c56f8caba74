import type { Resource } from '@medplum/fhirtypes';
import type { PipelineDeps } from '../fhir/pipeline.js';
import type { FhirRequest } from '../fhir/request.js';
import type { PreparedWrite } from '../fhir/write.js';
import type { WriteUnit } from '../fhir/write-unit.js';
import type { WriteOp } from '../store/port.js';

/** The request a rule sees: the request, and the transaction it is an entry of (its staged writes are current). */
export type WorkflowRequest = FhirRequest & { readonly unit?: WriteUnit };

/** The pipeline step: checks prepared writes and returns the writes the rules derive from them (issue 17). */
export interface WorkflowStep {
  (deps: PipelineDeps, request: WorkflowRequest, writes: readonly PreparedWrite[]): Promise<WriteOp[]>;
  /**
   * The keys (`KeyedLocks`) to hold from the rules' reads to the commit of these resources: what a
   * rule checks against resources it does not write (no overlapping booking) cannot be guarded
   * by a version, so writers that could break it for each other take turns.
   */
  lockKeys(resources: ReadonlyArray<Resource | undefined>): string[];
}

/** What kind of write a rule runs on: a new resource, a new version of a live one, or a deletion. */
export type WriteKind = 'create' | 'update' | 'delete';

/** One write as a rule sees it: plaintext, before and after. */
export interface RuleInput {
  deps: PipelineDeps;
  request: WorkflowRequest;
  resourceType: string;
  id: string;
  /** The resource as it will be stored; undefined for a deletion. */
  resource?: Resource;
  /** The live version it replaces or deletes; undefined for a create. */
  previous?: Resource;
}

/**
 * A workflow rule: throws a FhirError (409/422, a stable code) when the write breaks it, else
 * returns the writes it implies, prepared on top of the versions it read, so a concurrent change
 * of what the rule read fails the commit (VersionConflictError) and the write is re-checked.
 */
export type Rule = (input: RuleInput) => Promise<WriteOp[]>;

/** One row of the rule table: the rule runs on these kinds of writes of this type. */
export interface WorkflowRule {
  resourceType: string;
  on: readonly WriteKind[];
  name: string;
  rule: Rule;
  /** Keys of the writes that must not run the rule concurrently with this one (see `WorkflowStep.lockKeys`). */
  locks?: (resource: Resource) => string[];
}
