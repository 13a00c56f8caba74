import type { AuditEvent } from '@medplum/fhirtypes';
import type { StorageCodec } from '../fhir/codec.js';
import type { StorePort, StoredRecord } from '../store/port.js';
import { chainId } from './chain-writer.js';

/** One event of the chain as the store holds it; `event` (decoded) is absent for a delete tombstone. */
export interface ChainedRecord {
  sequence: number;
  record: StoredRecord;
  event?: AuditEvent;
}

/**
 * The store's chained AuditEvents from `from` on, in sequence order, read a page of ids
 * (`audit-<n>`, chain-writer.ts) at a time: memory stays flat however long the trail. Ends at
 * the first sequence the store does not hold (the tail, or a gap the caller then looks for).
 */
export async function* walkChain(store: StorePort, codec: StorageCodec, from: number, pageSize = 500): AsyncGenerator<ChainedRecord> {
  for (let start = from; ; start += pageSize) {
    const ids = Array.from({ length: pageSize }, (_, i) => chainId(start + i));
    const page = await store.find('current', { resourceType: 'AuditEvent', id: { $in: ids } });
    const byId = new Map(page.map((r) => [r.id, r]));
    for (let i = 0; i < pageSize; i++) {
      const record = byId.get(ids[i]);
      if (!record) return;
      const event = record.resource && !record.deleted ? ((await codec.decode(record.resource)) as AuditEvent) : undefined;
      yield { sequence: start + i, record, ...(event ? { event } : {}) };
    }
  }
}

/** The sequence an id of the chain stands for (`audit-<n>`), else undefined. */
export function sequenceOfId(id: string): number | undefined {
  const match = /^audit-([1-9]\d*)$/.exec(id);
  return match ? Number(match[1]) : undefined;
}
