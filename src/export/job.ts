import type { RequestContext } from '../fhir/request.js';

/** Where an export job stands (export.html#bulk-data-status-request). */
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** Export levels (export.html#endpoint---system-level-export and following). */
export type ExportLevel = 'system' | 'patient' | 'group';

/** One file of the manifest: the resources of one type, or the OperationOutcomes of the error file. */
export interface ExportFile {
  type: string;
  /** The file's name in the job's folder and its download URL. */
  name: string;
  count: number;
}

/**
 * The durable state of one export job (`DATA_DIR/export/<id>/job.jwe`, sealed with the at-rest keys,
 * since it names the requester and, for a Group, whose data it is).
 */
export interface ExportJob {
  id: string;
  level: ExportLevel;
  groupId?: string;
  /** The types to export, decided at kick-off from `_type` and what the token grants. */
  types: string[];
  since?: string;
  /** The kick-off URL, echoed as the manifest's `request`. */
  request: string;
  /** Who kicked it off, as the pipeline saw them; status and downloads need the same client and subject. */
  requester: RequestContext;
  /** The kick-off instant: the manifest's `transactionTime`; nothing written after it is exported. */
  transactionTime: string;
  status: JobStatus;
  progress: { typesDone: number; resources: number };
  output: ExportFile[];
  errors: ExportFile[];
  /** Kick-off parameters given but not applied (lenient handling), reported in the error file. */
  ignored: string[];
  /** Why the job failed, as the status request answers it. */
  failure?: string;
  /** When its files are removed (set when it ends). */
  expiresAt?: string;
}

/** A job id is a random UUID: it is the status URL, so it must not be guessable. */
export const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Names of output files: `<Type>-<n>.ndjson`. */
export const FILE_NAME = /^[A-Z][A-Za-z]{0,63}-\d{1,6}\.ndjson$/;

/** Whether a request comes from whoever kicked the job off: the same OAuth client and token subject (export.html#file-request). */
export function sameRequester(job: ExportJob, context: RequestContext): boolean {
  return job.requester.clientId === context.clientId && job.requester.subject === context.subject && job.requester.actor === context.actor;
}

/** The part of a request context a job keeps: who asked and under which grant (not the per-request confinement). */
export function requesterOf(context: RequestContext): RequestContext {
  const { inboundMessage: _m, ...rest } = context;
  return { ...rest, scopes: [...rest.scopes], purposeOfUse: [...rest.purposeOfUse], ...(rest.roles ? { roles: [...rest.roles] } : {}) };
}
