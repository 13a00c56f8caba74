import Router from '@koa/router';
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { archiveAccessEventOf, type ArchiveAccess } from '../audit/archive-access-event.js';
import { failureOf } from '../audit/vocabulary.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { withAudit } from '../audit/with-audit.js';
import { FhirError } from '../fhir/errors.js';
import type { Hl7Adapter } from '../hl7v2/index.js';
import { requestContext } from './fhir-request.js';

const ER7_TYPES = ['x-application/hl7-v2+er7', 'text/plain'];

/**
 * The archive holds raw messages (names, MRNs): reading and replaying it needs an explicit grant
 * (issue 15), `system/hl7v2.read` for a backend service (or its full wildcard `system/*.*`,
 * `system/*.read`, `system/*.rs`), `user/hl7v2.read` for a user with the admin role. Other clinical
 * `system/` scopes (`system/Practitioner.rs`) or the admin role alone do not reach it.
 */
const ARCHIVE_SYSTEM_SCOPES = new Set(['system/hl7v2.read', 'system/*.*', 'system/*.read', 'system/*.rs', 'system/*.cruds']);

function assertOperator(ctx: Context): void {
  const auth = (ctx.state.auth ?? {}) as { roles?: readonly string[]; scopes?: readonly string[] };
  const scopes = auth.scopes ?? [];
  if (scopes.some((s) => ARCHIVE_SYSTEM_SCOPES.has(s))) return;
  if (auth.roles?.includes('admin') && scopes.includes('user/hl7v2.read')) return;
  throw new FhirError('forbidden', 'The HL7 v2 message archive needs the scope system/hl7v2.read (or user/hl7v2.read with the admin role)');
}

/** What an access to the archive answers, and the messages it exposed (for its AuditEvent). */
interface ArchiveAnswer {
  body: unknown;
  messages: ArchiveAccess['messages'];
}

/**
 * HL7 v2 over HTTP and the message archive (docs/hl7v2-operations.md):
 * `POST /hl7/v2` takes one ER7 message and answers its ACK (200; the ACK carries the outcome);
 * `GET /hl7/messages`, `GET /hl7/messages/{id}`, `POST /hl7/messages/{id}/$replay` for operators.
 * The message runs with the caller's token, through the same handler and pipeline as MLLP.
 *
 * The archive's raw messages are PHI: every access with a verified token (read, list, replay;
 * done, refused or failed) is one AuditEvent, written by the one audit writer (`withAudit`, as the
 * FHIR pipeline's audit step; issue 16). A replay's transaction is audited by the pipeline besides,
 * as every message's is.
 */
export function hl7Routes(hl7: Hl7Adapter, fhirBaseUrl: string, audit: AuditSink): Router {
  const router = new Router({ prefix: '/hl7' });

  /** Runs one access under the audit writer; `asked` names the message a refused access asked for. */
  async function archiveAccess(ctx: Context, access: ArchiveAccess['access'], asked: string | undefined, run: () => Promise<ArchiveAnswer>): Promise<void> {
    const caller = requestContext(ctx, fhirBaseUrl);
    const eventOf = (messages: ArchiveAccess['messages'], failure?: ArchiveAccess['failure']) =>
      archiveAccessEventOf({ access, caller, requestId: caller.requestId, messages, ...(failure ? { failure } : {}) });
    const answer = await withAudit<ArchiveAnswer>(audit, (ended) => ({ event: ended.ok ? eventOf(ended.value.messages) : eventOf(asked ? [{ id: asked.slice(0, 64) }] : [], failureOf(ended.error)) }), run);
    ctx.body = answer.body;
  }

  router.post('/v2', async (ctx) => {
    if (!ER7_TYPES.includes(ctx.request.type)) {
      throw new FhirError('unsupported-media-type', `An HL7 v2 message must be sent as ${ER7_TYPES.join(' or ')}`);
    }
    let bytes: Buffer;
    try {
      bytes = await getRawBody(ctx.req, { limit: hl7.maxBytes });
    } catch (err) {
      if ((err as { type?: string }).type === 'entity.too.large') throw new FhirError('payload-too-large', `The message exceeds ${hl7.maxBytes} bytes`);
      throw new FhirError('bad-request', 'The request body could not be read completely');
    }
    // HTTP senders often end segments with LF or CRLF; v2 segments end with CR.
    const normalized = Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, '\r'), 'latin1');
    const handled = await hl7.handler.handle({ bytes: normalized, transport: 'http', address: ctx.ip, context: requestContext(ctx, fhirBaseUrl) });
    ctx.status = 200;
    ctx.type = 'x-application/hl7-v2+er7; charset=utf-8';
    ctx.set('X-HL7-Ack-Code', handled.code);
    ctx.body = handled.acks.at(-1) ?? '';
  });

  router.get('/messages', (ctx) =>
    archiveAccess(ctx, 'list', undefined, async () => {
      assertOperator(ctx);
      const q = ctx.query as Record<string, string | undefined>;
      const { records, next } = await hl7.archive.list({
        outcome: q.outcome, messageType: q.type, controlId: q.controlId, sender: q.sender, since: q.since, until: q.until, text: q.text,
        count: q._count ? Number(q._count) : undefined, before: q.before,
      });
      const nextUrl = next ? `${ctx.path}?${new URLSearchParams({ ...(q as Record<string, string>), before: next }).toString()}` : undefined;
      return { body: { messages: records, ...(nextUrl ? { next: nextUrl } : {}) }, messages: records };
    }),
  );

  router.get('/messages/:id', (ctx) =>
    archiveAccess(ctx, 'read', ctx.params.id, async () => {
      assertOperator(ctx);
      const record = await hl7.archive.get(ctx.params.id);
      if (!record) throw new FhirError('not-found', `No archived HL7 v2 message ${ctx.params.id.slice(0, 64)}`);
      return { body: { ...record, raw: await hl7.archive.raw(record.id) }, messages: [record] };
    }),
  );

  router.post('/messages/:id/:operation', (ctx) =>
    archiveAccess(ctx, 'replay', ctx.params.id, async () => {
      if (ctx.params.operation !== '$replay') throw new FhirError('not-supported', `Operation ${ctx.params.operation.slice(0, 64)} is not supported`);
      assertOperator(ctx);
      const handled = await hl7.handler.replay(ctx.params.id, requestContext(ctx, fhirBaseUrl));
      if (!handled) throw new FhirError('not-found', `No archived HL7 v2 message ${ctx.params.id.slice(0, 64)}`);
      return { body: { ack: handled.code, message: handled.record }, messages: [handled.record ?? { id: ctx.params.id.slice(0, 64) }] };
    }),
  );
  return router;
}
