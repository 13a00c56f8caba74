import type { ExportJob } from './job.js';

/** The complete-status body (export.html#response---complete-status). */
export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: true;
  output: Array<{ type: string; url: string; count: number }>;
  error: Array<{ type: 'OperationOutcome'; url: string; count: number }>;
}

/** Where a job's status is polled and cancelled: the kick-off's `Content-Location`. */
export const statusUrl = (baseUrl: string, id: string): string => `${baseUrl}/$export-status/${id}`;
/** Where one of its files is downloaded, with the same access token (`requiresAccessToken: true`). */
export const fileUrl = (baseUrl: string, id: string, name: string): string => `${baseUrl}/$export-file/${id}/${name}`;

export function manifestOf(job: ExportJob, baseUrl: string): Manifest {
  return {
    transactionTime: job.transactionTime,
    request: job.request,
    requiresAccessToken: true,
    output: job.output.map((f) => ({ type: f.type, url: fileUrl(baseUrl, job.id, f.name), count: f.count })),
    error: job.errors.map((f) => ({ type: 'OperationOutcome' as const, url: fileUrl(baseUrl, job.id, f.name), count: f.count })),
  };
}

/** `X-Progress` of a job in progress (export.html#response---in-progress-status): free text. */
export function progressOf(job: ExportJob): string {
  if (job.status === 'queued') return 'queued';
  return `${job.progress.typesDone} of ${job.types.length} types, ${job.progress.resources} resources`;
}
