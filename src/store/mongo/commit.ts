import type { ClientSession, Collection } from 'mongodb';
import { VersionConflictError, type StoredRecord, type WriteOp } from '../port.js';
import { commitPlan, currentStepApplied, rewriteStep, type WriteStep } from './commit-plan.js';
import { runTransaction, type RetryPolicy } from './transaction.js';

/** The two collections, typed by what they hold (`_id` is the derived key). */
export interface RecordCollections {
  current: Collection<StoredRecord & { _id: string }>;
  history: Collection<StoredRecord & { _id: string }>;
}

/**
 * Applies a commit in one multi-document transaction: for each write, the version-checked
 * current record, then its history entry. Any precondition that fails throws
 * VersionConflictError inside the transaction, which aborts it: nothing of the commit is
 * stored. Durable on return: the transaction commits with write concern `majority`.
 */
export async function commitWrites(collections: RecordCollections, session: ClientSession, writes: readonly WriteOp[], policy?: RetryPolicy): Promise<void> {
  const plan = commitPlan(writes);
  await runTransaction(
    session,
    async () => {
      for (const step of plan) await applyStep(collections, session, step);
    },
    policy,
  );
}

async function applyStep({ current, history }: RecordCollections, session: ClientSession, step: WriteStep): Promise<void> {
  const outcome =
    step.current.kind === 'create'
      ? await current.updateOne(step.current.filter, step.current.update, { ...step.current.options, session })
      : await current.replaceOne(step.current.filter, step.current.replacement, { session });
  if (!currentStepApplied(step.current, outcome)) {
    const found = await current.findOne(step.probe.filter, { projection: step.probe.projection, session });
    throw new VersionConflictError(step.resourceType, step.id, step.expectedVersion, found?.versionId ?? 0);
  }
  await history.replaceOne(step.history.filter, step.history.replacement, { ...step.history.options, session });
}

/** Rewrites the stored form of existing versions (StorePort.rewrite) in one transaction. */
export async function rewriteVersions(collections: RecordCollections, session: ClientSession, records: readonly StoredRecord[], policy?: RetryPolicy): Promise<void> {
  const steps = records.map(rewriteStep);
  await runTransaction(
    session,
    async () => {
      for (const step of steps) {
        await collections.history.updateOne(step.history.filter, step.history.update, { session });
        await collections.current.updateOne(step.current.filter, step.current.update, { session });
      }
    },
    policy,
  );
}
