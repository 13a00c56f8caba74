import { randomUUID } from 'node:crypto';
import { FhirError } from '../fhir/errors.js';
import type { RequestContext } from '../fhir/request.js';
import { exportEventOf, patientExportEventOf, type ExportOutcome } from './audit.js';
import type { ExportDeps } from './deps.js';
import { FILE_NAME, requesterOf, sameRequester, type ExportJob, type ExportLevel } from './job.js';
import { createJobStore } from './job-store.js';
import { manifestOf, progressOf, type Manifest } from './manifest.js';
import { parseExportParams } from './params.js';
import { rotateExports } from './rotation.js';
import { fileBinding, runJob } from './runner.js';
import { groupPatients, typesToExport } from './select.js';
import { openSealedNdjson } from './sealed-ndjson.js';

/** A kick-off as the HTTP edge hands it over (export.html#bulk-data-kick-off-request). */
export interface KickOff {
  context: RequestContext;
  level: ExportLevel;
  groupId?: string;
  params: Record<string, string[]>;
  /** `Prefer: handling=strict`: unsupported parameters are a 400 instead of a warning in the error file. */
  strict: boolean;
  /** The kick-off URL, echoed in the manifest. */
  requestUrl: string;
}

/** What a status request answers (export.html#bulk-data-status-request). */
export type StatusAnswer =
  | { kind: 'in-progress'; progress: string; retryAfterSeconds: number }
  | { kind: 'complete'; manifest: Manifest; expires: Date }
  | { kind: 'failed'; error: FhirError };

export interface ExportService {
  /** Authorizes and queues a job; resolves with its id once its state is on disk. */
  kickOff(request: KickOff): Promise<string>;
  status(id: string, context: RequestContext): Promise<StatusAnswer>;
  /** Cancels a running or queued job, or deletes a finished one's files (export.html#bulk-data-delete-request). */
  cancel(id: string, context: RequestContext): Promise<void>;
  /** The plaintext ndjson of one output file, chunk by chunk. */
  download(id: string, name: string, context: RequestContext): Promise<AsyncIterable<string>>;
  /** Fails the jobs a previous process left running, and starts the expiry sweep. */
  start(): Promise<void>;
  /** Re-seals jobs and files under the current at-rest key (a key rotation step); returns how many it rewrote. */
  rotate(options: { all: boolean }): Promise<number>;
  /** Stops taking jobs and waits for the running ones to stop. */
  close(): Promise<void>;
}

const RETRY_AFTER_SECONDS = 2;
const BREAK_GLASS_PURPOSE = 'ETREAT';
const AUDIT_BATCH = 100;
const RESTARTED = 'The server restarted while this export was running; kick it off again';

const notFound = (id: string): FhirError => new FhirError('not-found', `No export job ${id.slice(0, 64)}: it never existed, was cancelled, or its files expired`);

/**
 * Bulk Data `$export` (Bulk Data Access 2.0, https://hl7.org/fhir/uv/bulkdata/export.html): jobs
 * kicked off by the HTTP edge, run in this process in the background (at most
 * `settings.maxConcurrent` at once, the rest queued), their state and files under `DATA_DIR/export`
 * sealed with the at-rest keys, removed when they expire or are deleted. A restart fails the jobs
 * that were running or queued (their token's grant is not replayed). Each job is audited once, plus
 * once per patient whose data it exported.
 */
export function createExportService(deps: ExportDeps): ExportService {
  const jobs = createJobStore(deps.settings.dir, deps.sealer);
  const queue: ExportJob[] = [];
  const running = new Map<string, Promise<void>>();
  const cancelled = new Set<string>();
  let sweeper: NodeJS.Timeout | undefined;
  let closed = false;
  const now = (): Date => deps.clock();
  const expiry = (): string => new Date(now().getTime() + deps.settings.ttlSeconds * 1000).toISOString();

  async function audit(job: Parameters<typeof exportEventOf>[0], outcome: ExportOutcome, patients: Iterable<string> = [], consents: readonly string[] = []): Promise<void> {
    try {
      await deps.audit.recordEvent(exportEventOf(job, outcome, consents));
      const list = [...patients];
      for (let i = 0; i < list.length; i += AUDIT_BATCH) await Promise.all(list.slice(i, i + AUDIT_BATCH).map((p) => deps.audit.recordEvent(patientExportEventOf(job, p))));
    } catch (err) {
      deps.logger.error({ err, job: job.id }, 'export: the audit trail could not be written');
      throw err;
    }
  }

  async function run(job: ExportJob): Promise<void> {
    if (cancelled.has(job.id)) return;
    job.status = 'running';
    await jobs.save(job);
    const stop = (): boolean => cancelled.has(job.id) || closed;
    try {
      const report = await runJob(deps, jobs, job, stop);
      if (stop()) return;
      // The files are not offered before the audit trail names who exported whose data.
      await audit(job, { ok: true }, report.patients, report.consents);
      Object.assign(job, { status: 'completed', expiresAt: expiry() });
      await jobs.save(job);
    } catch (err) {
      if (stop()) return;
      deps.logger.error({ err, job: job.id }, 'export: job failed');
      const reason = err instanceof FhirError ? err.message : 'The export failed; the error has been logged';
      await jobs.clearFiles(job.id);
      Object.assign(job, { status: 'failed', failure: reason, output: [], errors: [], expiresAt: expiry() });
      await jobs.save(job);
      await audit(job, { ok: false, reason, serious: !(err instanceof FhirError) }).catch(() => undefined);
    }
  }

  function pump(): void {
    while (!closed && running.size < deps.settings.maxConcurrent && queue.length > 0) {
      const job = queue.shift()!;
      const done = run(job)
        .catch((err: unknown) => deps.logger.error({ err, job: job.id }, 'export: job state could not be saved'))
        .finally(async () => {
          running.delete(job.id);
          if (cancelled.has(job.id)) {
            await jobs.remove(job.id).catch(() => undefined);
            cancelled.delete(job.id);
          }
          pump();
        });
      running.set(job.id, done);
    }
  }

  /** The job, when it exists, has not expired and belongs to the requester; 404 otherwise (whose job it is does not leak). */
  async function jobOf(id: string, context: RequestContext): Promise<ExportJob> {
    if (cancelled.has(id)) throw notFound(id);
    const job = await jobs.load(id).catch(() => undefined);
    if (!job || !sameRequester(job, context)) throw notFound(id);
    if (job.expiresAt && Date.parse(job.expiresAt) <= now().getTime()) {
      await jobs.remove(id);
      throw notFound(id);
    }
    return job;
  }

  async function sweep(): Promise<void> {
    const { jobs: all } = await jobs.list();
    for (const job of all) if (job.expiresAt && Date.parse(job.expiresAt) <= now().getTime() && !running.has(job.id)) await jobs.remove(job.id);
  }

  return {
    async kickOff(request) {
      const { context, level } = request;
      if (!context.authenticated) throw new FhirError('unauthorized', 'A valid Bearer token is required');
      // Break-glass is for treating one patient now, never for taking many records out: an export decides without it.
      const requester = { ...requesterOf(context), purposeOfUse: context.purposeOfUse.filter((p) => p !== BREAK_GLASS_PURPOSE) };
      const id = randomUUID();
      const base = { id, requester, level, ...(request.groupId ? { groupId: request.groupId } : {}) };
      try {
        const params = parseExportParams(request.params, deps.registry.types, request.strict);
        const types = typesToExport(deps, requester, level, params.types);
        // The Group must exist and be readable now, not only when the job runs.
        if (level === 'group') await groupPatients(deps, requester, request.groupId!);
        const job: ExportJob = {
          ...base,
          types,
          ...(params.since ? { since: params.since } : {}),
          request: request.requestUrl,
          transactionTime: now().toISOString(),
          status: 'queued',
          progress: { typesDone: 0, resources: 0 },
          output: [],
          errors: [],
          ignored: params.ignored,
        };
        if (closed) throw new FhirError('store-unavailable', 'The server is shutting down; retry later', { hints: { retryAfter: '5' } });
        await jobs.save(job);
        queue.push(job);
        pump();
        return id;
      } catch (err) {
        // A refused kick-off is audited too: someone tried to take data out.
        if (err instanceof FhirError && (err.code === 'forbidden' || err.code === 'not-found')) {
          await audit({ ...base, types: request.params._type ?? [] }, { ok: false, reason: err.code });
        }
        throw err;
      }
    },

    async status(id, context) {
      const job = await jobOf(id, context);
      if (job.status === 'completed') return { kind: 'complete', manifest: manifestOf(job, context.baseUrl), expires: new Date(job.expiresAt!) };
      if (job.status === 'failed') return { kind: 'failed', error: new FhirError('internal', job.failure ?? 'The export failed') };
      return { kind: 'in-progress', progress: progressOf(job), retryAfterSeconds: RETRY_AFTER_SECONDS };
    },

    async cancel(id, context) {
      const job = await jobOf(id, context);
      cancelled.add(id);
      const queued = queue.findIndex((j) => j.id === id);
      if (queued >= 0) queue.splice(queued, 1);
      // A running job removes its own folder once it has stopped (pump); anything else goes now.
      if (!running.has(id)) {
        await jobs.remove(id);
        cancelled.delete(id);
      }
      if (job.status === 'queued' || job.status === 'running') await audit(job, { ok: false, reason: 'cancelled' }).catch(() => undefined);
    },

    async download(id, name, context) {
      const job = await jobOf(id, context);
      const file = FILE_NAME.test(name) && job.status === 'completed' ? [...job.output, ...job.errors].find((f) => f.name === name) : undefined;
      if (!file) throw new FhirError('not-found', `Export job ${id} has no file ${name.slice(0, 80)}`);
      return openSealedNdjson(deps.sealer, jobs.filePath(id, name), fileBinding(job, name));
    },

    async start() {
      const { jobs: all, unreadable } = await jobs.list();
      for (const id of unreadable) deps.logger.warn({ job: id }, 'export: a job folder cannot be read (key removed?); it is left alone');
      for (const job of all) {
        if (job.status !== 'queued' && job.status !== 'running') continue;
        await jobs.clearFiles(job.id);
        Object.assign(job, { status: 'failed', failure: RESTARTED, output: [], errors: [], expiresAt: expiry() });
        await jobs.save(job);
        await audit(job, { ok: false, reason: 'interrupted by a restart', serious: true });
      }
      await sweep();
      const every = Math.max(1000, Math.min(60_000, (deps.settings.ttlSeconds * 1000) / 2));
      sweeper = setInterval(() => void sweep().catch((err: unknown) => deps.logger.error({ err }, 'export: expiry sweep failed')), every);
      sweeper.unref();
    },

    rotate: ({ all }) => rotateExports(deps.sealer, jobs, deps.settings.dir, (id) => running.has(id), all),

    async close() {
      closed = true;
      if (sweeper) clearInterval(sweeper);
      await Promise.all(running.values());
    },
  };
}
