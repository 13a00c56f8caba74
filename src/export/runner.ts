import type { OperationOutcome } from '@medplum/fhirtypes';
import { patientsNamedBy } from '../search/compartment.js';
import type { ExportDeps } from './deps.js';
import type { ExportFile, ExportJob } from './job.js';
import type { JobStore } from './job-store.js';
import { contextFor, groupPatients, recordsOf, visiblePatients } from './select.js';
import { createSealedNdjsonWriter, type SealedNdjsonWriter } from './sealed-ndjson.js';

/** What a finished run found, for the audit trail. */
export interface RunReport {
  /** Patients whose data the files hold. */
  patients: Set<string>;
  /** Consents that withheld something from the requester. */
  consents: string[];
}

/** The binding of a file's chunks: the job and the file, so a chunk opens only where it was written. */
export const fileBinding = (job: ExportJob, name: string): string => `export/${job.id}/${name}`;

/** One output file being written, rolled over every `fileMaxResources` resources. */
function fileSeries(deps: ExportDeps, jobs: JobStore, job: ExportJob, type: string, into: ExportFile[]) {
  let writer: SealedNdjsonWriter | undefined;
  let name = '';
  let n = 0;
  const close = async (): Promise<void> => {
    if (!writer) return;
    await writer.close();
    into.push({ type, name, count: writer.count });
    writer = undefined;
  };
  return {
    async write(resource: object): Promise<void> {
      if (writer && writer.count >= deps.settings.fileMaxResources) await close();
      if (!writer) {
        name = `${type}-${++n}.ndjson`;
        writer = await createSealedNdjsonWriter(deps.sealer, jobs.filePath(job.id, name), fileBinding(job, name));
      }
      await writer.write(resource);
    },
    close,
  };
}

const warning = (diagnostics: string, code: 'not-supported' | 'exception' = 'not-supported'): OperationOutcome => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: code === 'exception' ? 'error' : 'warning', code, diagnostics }],
});

/**
 * Runs one export job to its end: for each type, the records the requester may see (`select.ts`),
 * decoded and written to sealed ndjson files; what could not be exported goes to the error file as
 * OperationOutcomes (export.html#response---complete-status). Progress is saved after each type;
 * `cancelled` is asked between pages and stops the run (the caller removes the files).
 */
export async function runJob(deps: ExportDeps, jobs: JobStore, job: ExportJob, cancelled: () => boolean): Promise<RunReport> {
  const report: RunReport = { patients: new Set(), consents: [] };
  const output: ExportFile[] = [];
  const errors: ExportFile[] = [];
  const errorFile = fileSeries(deps, jobs, job, 'OperationOutcome', errors);
  for (const name of job.ignored) await errorFile.write(warning(`Kick-off parameter ${name} is not supported and was ignored`));
  const patients = job.level === 'patient' ? await visiblePatients(deps, job.requester, cancelled) : job.level === 'group' ? await groupPatients(deps, job.requester, job.groupId!) : undefined;
  for (const type of job.types) {
    if (cancelled()) break;
    const typed = contextFor(job.requester, type);
    const files = fileSeries(deps, jobs, job, type, output);
    let count = 0;
    for await (const record of recordsOf(deps, typed, type, job.since, patients, cancelled)) {
      try {
        const resource = await deps.codec.decode(record.resource!);
        await files.write(resource);
        for (const p of patientsNamedBy(resource)) report.patients.add(p);
        count++;
      } catch (err) {
        deps.logger.error({ err, job: job.id, resource: `${type}/${record.id}` }, 'export: a resource could not be decoded');
        await errorFile.write(warning(`${type}/${record.id} could not be read and is not in the export`, 'exception'));
      }
    }
    await files.close();
    for (const c of typed.consent.consents) if (!report.consents.includes(c)) report.consents.push(c);
    job.progress = { typesDone: job.progress.typesDone + 1, resources: job.progress.resources + count };
    if (!cancelled()) await jobs.save(job);
  }
  await errorFile.close();
  job.output = output;
  job.errors = errors;
  return report;
}
