import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import type { StorageCodec } from '../fhir/codec.js';
import { FhirError } from '../fhir/errors.js';
import type { Logger } from '../logger.js';
import type { SearchIndex } from '../search/types.js';
import type { StorePort } from '../store/port.js';
import { auditEventOf, sourceOf } from './audit-event.js';
import type { AuditEntry, AuditSink } from './audit-sink.js';
import { createChainWriter } from './chain-writer.js';

export interface AuditEventSinkDeps {
  store: StorePort;
  codec: StorageCodec;
  searchIndex: SearchIndex;
  clock: () => Date;
  logger: Logger;
  /** Names the server in `AuditEvent.source.observer`. */
  observer: string;
}

/**
 * Persists hash-chained AuditEvents straight into the store (not through the pipeline: an audit
 * write is never itself audited, so there is no audit-of-audit loop). A write's events go into the
 * write's own commit; other events are committed before the response, batched with concurrent ones.
 * When an event cannot be written the request fails with 503 rather than go unaudited.
 */
export function createAuditEventSink(deps: AuditEventSinkDeps): AuditSink {
  const chain = createChainWriter(deps);

  async function eventOf(entry: AuditEntry): Promise<AuditEvent> {
    // The patients of what was written are read from its plaintext: the stored form may be encrypted.
    const written: Resource[] = [];
    for (const record of entry.written ?? []) if (record.resource) written.push(await deps.codec.decode(record.resource));
    return auditEventOf(entry, entry.consent, deps.observer, deps.clock().toISOString(), written);
  }

  async function durably(events: AuditEvent[], requestId: string | undefined): Promise<void> {
    try {
      await chain.append([], events);
    } catch (err) {
      deps.logger.error({ err, requestId }, 'audit write failed');
      throw new FhirError('store-unavailable', 'The audit trail cannot be written; the request was not completed', { hints: { retryAfter: '5' } });
    }
  }

  return {
    async record(entry) {
      if (entry.request.interaction === 'capabilities') return;
      await durably([await eventOf(entry)], entry.request.context.requestId);
    },
    async commitWith(ops, entries) {
      const events = await Promise.all(entries.filter((e) => e.request.interaction !== 'capabilities').map(eventOf));
      if (ops.length === 0 && events.length === 0) return;
      await chain.append(ops, events);
    },
    async recordEvent(draft) {
      await durably([{ ...draft, recorded: deps.clock().toISOString(), source: sourceOf(deps.observer) }], undefined);
    },
  };
}
