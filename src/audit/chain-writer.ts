import type { AuditEvent } from '@medplum/fhirtypes';
import type { StorageCodec } from '../fhir/codec.js';
import type { SearchIndex } from '../search/types.js';
import { VersionConflictError, type StorePort, type WriteOp } from '../store/port.js';
import { GENESIS, linkOf, withLink, type ChainLink } from './chain.js';

export interface ChainWriterDeps {
  store: StorePort;
  codec: StorageCodec;
  searchIndex: SearchIndex;
  clock: () => Date;
}

/** Appends AuditEvents to the hash chain, each in the same `store.commit` as the data it records. */
export interface ChainWriter {
  /**
   * Commits `data` (possibly none) and `events`, linked in order after the chain's tail, in one
   * `store.commit`; resolves once durable. Rejects with the store's error unchanged, having stored
   * nothing and left the chain where it was.
   */
  append(data: readonly WriteOp[], events: readonly AuditEvent[]): Promise<void>;
}

interface Job {
  data: readonly WriteOp[];
  events: readonly AuditEvent[];
  /** Commit without other jobs: set after a shared commit failed for a reason no job can be blamed for. */
  alone?: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

// Another instance sharing the store (MongoDB) took the sequence numbers: re-read its tail, relink, retry.
const MAX_RELINKS = 20;

/** Event n is stored as `AuditEvent/audit-n`: a second writer of sequence n fails the create (expectedVersion 0) instead of forking the chain. */
export function chainId(sequence: number): string {
  return `audit-${sequence}`;
}

/**
 * One commit at a time, so the chain has one order and a failed commit leaves no gap. Jobs that
 * arrive while a commit is in flight queue, and the next commit takes them all (group commit):
 * concurrent reads cost one fsync, not one each. Jobs writing the same resource never share a
 * commit; when a shared commit fails on one job's data (a version conflict names the resource),
 * that job gets the error and the others go again, first in line.
 *
 * Where the store applies commits in call order before they are durable (`StorePort.stage`, the
 * embedded store), the next commit is linked and applied while the previous one's fsync is in
 * flight (pipelining, issue 14); each job still resolves only once its commit is durable. A failed
 * fsync stops the store, so no later commit is acknowledged either: the durable chain has no gap.
 */
export function createChainWriter(deps: ChainWriterDeps): ChainWriter {
  const queue: Job[] = [];
  let running = false;
  // Staged batches whose jobs are not answered yet (their fsync pending), oldest first.
  const unsettled: Array<Promise<void>> = [];
  // The last durable link; undefined when unknown (start, or a failure that may or may not have stored).
  let tail: ChainLink | undefined;

  const decodedLink = async (resource: AuditEvent | undefined): Promise<ChainLink | undefined> => (resource ? linkOf((await deps.codec.decode(resource)) as AuditEvent) : undefined);

  async function lastLink(): Promise<ChainLink> {
    const recent = await deps.store.find('current', { resourceType: 'AuditEvent', deleted: false }, { sort: { lastUpdated: -1, id: -1 }, limit: 50 });
    let best: ChainLink = { sequence: 0, hash: GENESIS };
    for (const record of recent) {
      const link = await decodedLink(record.resource as AuditEvent | undefined);
      if (link && link.sequence > best.sequence) best = { sequence: link.sequence, hash: link.hash };
    }
    // Events are found by their sequence's id too: newer ones another instance stamped with an earlier clock.
    for (;;) {
      const [next] = await deps.store.find('current', { resourceType: 'AuditEvent', id: chainId(best.sequence + 1) }, { limit: 1 });
      const link = await decodedLink(next?.resource as AuditEvent | undefined);
      if (!link) return best;
      best = { sequence: link.sequence, hash: link.hash };
    }
  }

  async function link(previous: ChainLink, events: readonly AuditEvent[]): Promise<{ ops: WriteOp[]; last: ChainLink }> {
    const now = deps.clock().toISOString();
    const ops: WriteOp[] = [];
    let last = previous;
    for (const event of events) {
      const sequence = last.sequence + 1;
      const linked = withLink({ ...event, id: chainId(sequence) }, sequence, last.hash);
      const stored: AuditEvent = { ...linked, meta: { versionId: '1', lastUpdated: now } };
      const record = { resourceType: 'AuditEvent', id: stored.id!, versionId: 1, lastUpdated: now, deleted: false, index: deps.searchIndex.extract(stored), resource: await deps.codec.encode(stored) };
      ops.push({ record, expectedVersion: 0 });
      last = { sequence, hash: linkOf(linked)!.hash };
    }
    return { ops, last };
  }

  /** The next commit's jobs, in order: all queued, but never two writing one resource, and an `alone` job by itself. */
  function take(): Job[] {
    const batch: Job[] = [];
    const keys = new Set<string>();
    while (queue.length > 0) {
      const job = queue[0];
      if (batch.length > 0 && (job.alone || batch[0].alone)) break;
      const own = job.data.map((op) => `${op.record.resourceType}/${op.record.id}`);
      if (own.some((k) => keys.has(k))) break;
      own.forEach((k) => keys.add(k));
      batch.push(queue.shift()!);
    }
    return batch;
  }

  /**
   * Commits one batch. With a staging store it resolves once the batch is applied, with `settled`:
   * its jobs answered once durable (never rejects). Wrapped, since an async function would adopt a
   * returned promise and wait for it.
   */
  async function commit(batch: Job[]): Promise<{ settled?: Promise<void> }> {
    for (let relinks = 0; ; relinks++) {
      let previous: ChainLink | undefined;
      try {
        previous = tail ?? (await lastLink());
        const { ops, last } = await link(previous, batch.flatMap((j) => j.events));
        const writes = [...batch.flatMap((j) => j.data), ...ops];
        if (deps.store.stage) {
          const { durable } = await deps.store.stage(writes);
          tail = last;
          const settled = durable.then(
            () => batch.forEach((job) => job.resolve()),
            (err: unknown) => {
              // Written but not known to be on disk: the store has stopped; the tail is unknown.
              tail = undefined;
              batch.forEach((job) => job.reject(err));
            },
          );
          return { settled };
        }
        await deps.store.commit(writes);
        tail = last;
        for (const job of batch) job.resolve();
        return {};
      } catch (err) {
        // A version conflict stored nothing: the tail holds. Any other failure may have stored the commit or not.
        tail = err instanceof VersionConflictError ? previous : undefined;
        if (err instanceof VersionConflictError && err.resourceType === 'AuditEvent' && relinks < MAX_RELINKS) {
          // The other writer's commit may not be visible yet: back off (jittered) before reading its tail.
          tail = undefined;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** relinks, 100)));
          continue;
        }
        failed(batch, err);
        return {};
      }
    }
  }

  function failed(batch: Job[], err: unknown): void {
    if (batch.length === 1) return batch[0].reject(err);
    const conflict = err instanceof VersionConflictError ? err : undefined;
    const culprit = conflict && batch.find((j) => j.data.some((op) => op.record.resourceType === conflict.resourceType && op.record.id === conflict.id));
    culprit?.reject(err);
    // The others did not fail on their own: they go again, first in line, in order; alone when no job can be blamed.
    queue.unshift(...batch.filter((j) => j !== culprit).map((j) => (culprit ? j : { ...j, alone: true })));
  }

  async function run(): Promise<void> {
    running = true;
    try {
      while (queue.length > 0) {
        // At most one batch applied ahead of the one being fsync'd: jobs arriving meanwhile queue and
        // go as one batch (one transaction, one link pass), applied while the next fsync runs.
        if (unsettled.length >= 2) {
          await unsettled[0];
          continue;
        }
        const { settled } = await commit(take());
        if (settled) {
          unsettled.push(settled);
          void settled.then(() => unsettled.splice(unsettled.indexOf(settled), 1));
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    append(data, events) {
      const done = new Promise<void>((resolve, reject) => queue.push({ data, events, resolve, reject }));
      if (!running) void run();
      return done;
    },
  };
}
