import { Readable } from 'node:stream';
import type { Context, Middleware, Next } from 'koa';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { statusUrl } from '../export/manifest.js';
import { paramsOfBody } from '../export/params.js';
import type { ExportService } from '../export/service.js';
import type { ExportLevel } from '../export/job.js';
import { readJsonBody } from './body.js';
import { preferHandling, queryParams, requestContext } from './fhir-request.js';
import { responseType } from './media.js';
import { respondError } from './respond.js';

export interface ExportRoutesOptions {
  exports: ExportService;
  fhirBaseUrl: string;
  maxBodyBytes: number;
}

// Kick-off endpoints (export.html#endpoint---system-level-export, #endpoint---all-patients, #endpoint---group-of-patients).
const KICK_OFF: Array<[RegExp, ExportLevel]> = [
  [/^\/fhir\/\$export\/?$/, 'system'],
  [/^\/fhir\/Patient\/\$export\/?$/, 'patient'],
  [/^\/fhir\/Group\/([A-Za-z0-9\-.]{1,64})\/\$export\/?$/, 'group'],
];
const STATUS = /^\/fhir\/\$export-status\/([^/]{1,64})\/?$/;
const FILE = /^\/fhir\/\$export-file\/([^/]{1,64})\/([^/]{1,80})\/?$/;

const informational = (diagnostics: string): OperationOutcome => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics }] });

function json(ctx: Context, status: number, body: unknown, type: string): void {
  ctx.status = status;
  ctx.type = `${type}; charset=utf-8`;
  ctx.body = JSON.stringify(body);
}

/** `Prefer: respond-async` is required on every kick-off (export.html#headers). */
function assertRespondAsync(ctx: Context): void {
  if (!/(^|[,;\s])respond-async\s*($|[,;])/i.test(ctx.get('Prefer'))) {
    throw new FhirError('bad-request', '$export runs asynchronously: send the header Prefer: respond-async');
  }
}

/** The Parameters of a POST kick-off; an empty body means no parameters. */
async function postedParams(ctx: Context, maxBodyBytes: number): Promise<Record<string, string[]>> {
  const empty = ctx.get('Content-Length') === '0' || (!ctx.get('Content-Length') && !ctx.get('Transfer-Encoding'));
  return empty ? {} : paramsOfBody(await readJsonBody(ctx, maxBodyBytes));
}

/**
 * Bulk Data `$export` at the HTTP edge (Koa only here): kick-off (GET or POST), status polling,
 * cancel (DELETE of the status URL) and file download. Runs after authentication, so every path
 * carries a verified token; the export service decides what the token may export.
 */
export function exportRoutes(options: ExportRoutesOptions): Middleware {
  const { exports, fhirBaseUrl, maxBodyBytes } = options;
  // Every path here names `$export` (kick-off, -status, -file): other requests go on without entering the async handler (issue 14).
  return (ctx, next) => (ctx.path.includes('/$export') ? handle(ctx, next) : next());

  async function handle(ctx: Context, next: Next): Promise<void> {
    const kickOff = KICK_OFF.map(([pattern, level]) => [pattern.exec(ctx.path), level] as const).find(([m]) => m);
    const status = STATUS.exec(ctx.path);
    const file = FILE.exec(ctx.path);
    if (!kickOff && !status && !file) return next();
    const context = requestContext(ctx, fhirBaseUrl);

    if (kickOff) {
      if (ctx.method !== 'GET' && ctx.method !== 'POST') throw new FhirError('method-not-allowed', `${ctx.method} is not allowed on $export`, { hints: { allow: 'GET, POST' } });
      const mediaType = responseType(ctx);
      assertRespondAsync(ctx);
      const [match, level] = kickOff;
      const params = ctx.method === 'POST' ? await postedParams(ctx, maxBodyBytes) : queryParams(ctx);
      const id = await exports.kickOff({ context, level, ...(level === 'group' ? { groupId: match![1] } : {}), params, strict: preferHandling(ctx) === 'strict', requestUrl: `${fhirBaseUrl}${ctx.path.slice('/fhir'.length)}${ctx.search}` });
      ctx.set('Content-Location', statusUrl(fhirBaseUrl, id));
      json(ctx, 202, informational(`Export accepted; poll ${statusUrl(fhirBaseUrl, id)}`), mediaType);
      return;
    }

    if (status) {
      const mediaType = responseType(ctx);
      if (ctx.method === 'DELETE') {
        await exports.cancel(status[1], context);
        json(ctx, 202, informational('Export cancelled; its files are removed'), mediaType);
        return;
      }
      if (ctx.method !== 'GET') throw new FhirError('method-not-allowed', `${ctx.method} is not allowed on an export status`, { hints: { allow: 'GET, DELETE' } });
      const answer = await exports.status(status[1], context);
      if (answer.kind === 'in-progress') {
        ctx.set('X-Progress', answer.progress);
        ctx.set('Retry-After', String(answer.retryAfterSeconds));
        ctx.status = 202;
        ctx.body = '';
        return;
      }
      if (answer.kind === 'failed') {
        respondError(ctx, answer.error, mediaType);
        return;
      }
      ctx.set('Expires', answer.expires.toUTCString());
      json(ctx, 200, answer.manifest, 'application/json');
      return;
    }

    if (ctx.method !== 'GET') throw new FhirError('method-not-allowed', `${ctx.method} is not allowed on an export file`, { hints: { allow: 'GET' } });
    const chunks = await exports.download(file![1], file![2], context);
    ctx.status = 200;
    ctx.type = 'application/fhir+ndjson';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = Readable.from(chunks);
  }
}
