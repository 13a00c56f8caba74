import type { ClientSession } from 'mongodb';
import type { ResourceKey } from '../port.js';
import type { RecordCollections } from './commit.js';
import { currentKey } from './documents.js';
import { runTransaction, type RetryPolicy } from './transaction.js';

/**
 * Hard-deletes every version of the given resources (StorePort.purge) in one transaction: their
 * `current` documents by `_id`, their `history` documents by (resourceType, id), one query per type.
 */
export async function purgeResources(collections: RecordCollections, session: ClientSession, records: ReadonlyArray<ResourceKey>, policy?: RetryPolicy): Promise<void> {
  const byType = new Map<string, string[]>();
  for (const { resourceType, id } of records) byType.set(resourceType, [...(byType.get(resourceType) ?? []), id]);
  await runTransaction(
    session,
    async () => {
      await collections.current.deleteMany({ _id: { $in: records.map((r) => currentKey(r.resourceType, r.id)) } }, { session });
      for (const [resourceType, ids] of byType) await collections.history.deleteMany({ resourceType, id: { $in: ids } }, { session });
    },
    policy,
  );
}
