import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { ConsentNote } from '../consent/gate.js';
import type { StorageCodec } from '../fhir/codec.js';
import { FhirError } from '../fhir/errors.js';
import type { FhirRequest } from '../fhir/request.js';
import type { Logger } from '../logger.js';
import type { SearchIndex } from '../search/types.js';
import type { StorePort } from '../store/port.js';
import { auditEventOf } from './audit-event.js';
import type { AuditSink } from './audit-sink.js';
import { GENESIS, linkOf, withLink, type ChainLink } from './chain.js';

export interface AuditEventSinkDeps {
  store: StorePort;
  codec: StorageCodec;
  searchIndex: SearchIndex;
  clock: () => Date;
  logger: Logger;
  /** Names the server in `AuditEvent.source.observer`. */
  observer: string;
  consentNote?: (request: FhirRequest) => ConsentNote | undefined;
}

/**
 * Persists one hash-chained AuditEvent per interaction, straight into the store (not through the
 * pipeline: an audit write is never itself audited, so there is no audit-of-audit loop). Writes are
 * serialized so the chain has one order; the request waits for its event to be durable, and when
 * it cannot be written the request fails with 503 rather than go unaudited.
 */
export function createAuditEventSink(deps: AuditEventSinkDeps): AuditSink {
  let tail: Promise<ChainLink> | undefined;

  async function lastLink(): Promise<ChainLink> {
    const records = await deps.store.find('current', { resourceType: 'AuditEvent', deleted: false }, { sort: { lastUpdated: -1, id: -1 }, limit: 50 });
    let best: ChainLink = { sequence: 0, hash: GENESIS };
    for (const record of records) {
      const link = linkOf((await deps.codec.decode(record.resource!)) as AuditEvent);
      if (link && link.sequence > best.sequence) best = { sequence: link.sequence, hash: link.hash };
    }
    return best;
  }

  async function append(previous: ChainLink, event: AuditEvent): Promise<ChainLink> {
    const now = deps.clock().toISOString();
    const sequence = previous.sequence + 1;
    const linked = withLink({ ...event, id: randomUUID() }, sequence, previous.hash);
    const stored: AuditEvent = { ...linked, meta: { versionId: '1', lastUpdated: now } };
    await deps.store.commit([
      {
        record: { resourceType: 'AuditEvent', id: stored.id!, versionId: 1, lastUpdated: now, deleted: false, index: deps.searchIndex.extract(stored), resource: await deps.codec.encode(stored) },
        expectedVersion: 0,
      },
    ]);
    return { sequence, hash: linkOf(linked)!.hash };
  }

  return {
    async record(entry) {
      if (entry.request.interaction === 'capabilities') return;
      const event = auditEventOf(entry, deps.consentNote?.(entry.request), deps.observer, deps.clock().toISOString());
      const previous = tail ?? lastLink();
      // A failed write leaves the chain where it was; the next event links to the last durable one.
      const next = previous.then((link) => append(link, event).catch((err: unknown) => Promise.reject(Object.assign(new Error('audit write failed'), { cause: err, link }))));
      tail = next.catch((err: { link?: ChainLink }) => err.link ?? lastLink());
      try {
        await next;
      } catch (err) {
        deps.logger.error({ err, requestId: entry.request.context.requestId }, 'audit write failed');
        throw new FhirError('store-unavailable', 'The audit trail cannot be written; the request was not completed', { hints: { retryAfter: '5' } });
      }
    },
  };
}
