import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sealer } from '../crypto/index.js';
import { FILE_NAME, JOB_ID, type ExportJob } from './job.js';

/** Durable export jobs: one folder per job under `DATA_DIR/export`, its state sealed, its files beside it. */
export interface JobStore {
  save(job: ExportJob): Promise<void>;
  load(id: string): Promise<ExportJob | undefined>;
  /** Every job on disk (unreadable ones are skipped and reported by id). */
  list(): Promise<{ jobs: ExportJob[]; unreadable: string[] }>;
  /** The path of one of a job's files. */
  filePath(id: string, name: string): string;
  /** Removes a job's folder: its state and every file. */
  remove(id: string): Promise<void>;
  /** Removes a job's output files, keeping its state (a job restarted or cancelled). */
  clearFiles(id: string): Promise<void>;
}

export function createJobStore(dir: string, sealer: Sealer): JobStore {
  const jobDir = (id: string): string => {
    if (!JOB_ID.test(id)) throw new Error(`export: not a job id '${id.slice(0, 40)}'`);
    return path.join(dir, id);
  };
  const binding = (id: string): string => `export-job/${id}`;

  const store: JobStore = {
    async save(job) {
      await mkdir(jobDir(job.id), { recursive: true });
      const target = path.join(jobDir(job.id), 'job.jwe');
      // Written aside and renamed: a crash never leaves half a state file.
      await writeFile(`${target}.tmp`, await sealer.seal(job, binding(job.id)), { mode: 0o600 });
      await rename(`${target}.tmp`, target);
    },
    async load(id) {
      if (!JOB_ID.test(id)) return undefined;
      let jwe: string;
      try {
        jwe = await readFile(path.join(jobDir(id), 'job.jwe'), 'utf8');
      } catch {
        return undefined;
      }
      return (await sealer.open(jwe, binding(id))) as ExportJob;
    },
    async list() {
      const jobs: ExportJob[] = [];
      const unreadable: string[] = [];
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names.filter((n) => JOB_ID.test(n))) {
        const job = await store.load(name).catch(() => undefined);
        if (job) jobs.push(job);
        else unreadable.push(name);
      }
      return { jobs, unreadable };
    },
    filePath(id, name) {
      if (!FILE_NAME.test(name)) throw new Error(`export: not a file name '${name.slice(0, 40)}'`);
      return path.join(jobDir(id), `${name}.jwe`);
    },
    async remove(id) {
      await rm(jobDir(id), { recursive: true, force: true });
    },
    async clearFiles(id) {
      const names = await readdir(jobDir(id)).catch(() => [] as string[]);
      await Promise.all(names.filter((n) => n.endsWith('.ndjson.jwe')).map((n) => rm(path.join(jobDir(id), n), { force: true })));
    },
  };
  return store;
}
