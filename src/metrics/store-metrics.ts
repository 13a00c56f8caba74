import type { StorePort, WriteOp } from '../store/port.js';
import { observeCommits } from '../store/observed-store.js';
import type { CommitContent, Metrics } from './metrics.js';

/**
 * The store with the latency of every commit recorded (until durable: the group fsync of the
 * embedded store, the majority write concern of MongoDB). A decorator around any adapter, so
 * neither the adapters nor the pipeline know about metrics; every other member is the store's own.
 */
export function withCommitMetrics(store: StorePort, metrics: Pick<Metrics, 'storeCommit'>): StorePort {
  return observeCommits(store, async (writes, durably) => {
    const started = performance.now();
    let ok = false;
    try {
      await durably();
      ok = true;
    } finally {
      if (writes.length > 0) metrics.storeCommit(contentOf(writes), (performance.now() - started) / 1000, ok);
    }
  });
}

function contentOf(writes: WriteOp[]): CommitContent {
  const audit = writes.filter((w) => w.record.resourceType === 'AuditEvent').length;
  return audit === 0 ? 'data' : audit === writes.length ? 'audit' : 'data+audit';
}
