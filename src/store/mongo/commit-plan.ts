import type { StoredRecord, WriteOp } from '../port.js';
import { currentKey, historyKey, normalizeRecord } from './documents.js';

/**
 * The MongoDB operations of one commit, as data: built by pure functions (tested for their
 * exact shape), run in order inside one multi-document transaction by `commit.ts`.
 *
 * Optimistic concurrency lives in the filters. A create inserts the current record only when
 * no document has its `_id` (an upsert with `$setOnInsert` that matches nothing, rather than
 * an insert that fails: a failed command would abort the whole transaction on the server).
 * An update replaces the current record only while it still has the expected `versionId`.
 * Either way, a write that matches nothing means another writer got there first. Two
 * transactions touching the same current document conflict on the server (WriteConflict), so
 * one of them is retried and then sees the other's version.
 */

/** Writes the current record of a resource, or reports (matchedCount / upsertedCount) that its version moved. */
export type CurrentStep =
  | { kind: 'create'; filter: { _id: string }; update: { $setOnInsert: StoredRecord }; options: { upsert: true } }
  | { kind: 'replace'; filter: { _id: string; versionId: number }; replacement: StoredRecord };

/** Writes one version into history; an upsert on the deterministic `_id`, so a repeat is harmless. */
export interface HistoryStep {
  filter: { _id: string };
  replacement: StoredRecord;
  options: { upsert: true };
}

/** Reads the version a conflicting resource has now, for the VersionConflictError. */
export interface ConflictProbe {
  filter: { _id: string };
  projection: { _id: 0; versionId: 1 };
}

export interface WriteStep {
  resourceType: string;
  id: string;
  expectedVersion: number;
  current: CurrentStep;
  history: HistoryStep;
  probe: ConflictProbe;
}

/** The steps of a commit, one per write, in the caller's order (a later write to the same resource sees the earlier one). */
export function commitPlan(writes: readonly WriteOp[]): WriteStep[] {
  return writes.map(writeStep);
}

/** The steps of one write. */
export function writeStep({ record, expectedVersion }: WriteOp): WriteStep {
  const { resourceType, id } = record;
  const key = currentKey(resourceType, id);
  const stored = normalizeRecord(record);
  const current: CurrentStep =
    expectedVersion === 0
      ? { kind: 'create', filter: { _id: key }, update: { $setOnInsert: stored }, options: { upsert: true } }
      : { kind: 'replace', filter: { _id: key, versionId: expectedVersion }, replacement: stored };
  return {
    resourceType,
    id,
    expectedVersion,
    current,
    history: { filter: { _id: historyKey(resourceType, id, record.versionId) }, replacement: stored, options: { upsert: true } },
    probe: { filter: { _id: key }, projection: { _id: 0, versionId: 1 } },
  };
}

/** The outcome counts of the current step, as the driver reports them. */
export interface CurrentOutcome {
  matchedCount: number;
  upsertedCount: number;
}

/** True when the current step took effect; false means the version precondition did not hold. */
export function currentStepApplied(step: CurrentStep, outcome: CurrentOutcome): boolean {
  return step.kind === 'create' ? outcome.upsertedCount === 1 : outcome.matchedCount === 1;
}

/** `$set` / `$unset` of the stored form of a version: what `rewrite` changes, nothing else. */
export interface StoredFormUpdate {
  $set?: Partial<Pick<StoredRecord, 'resource' | 'index'>>;
  $unset?: Partial<Record<'resource' | 'index', ''>>;
}

/** The updates of one rewritten version (StorePort.rewrite): in history, and in current while it is that version. */
export interface RewriteStep {
  history: { filter: { _id: string }; update: StoredFormUpdate };
  current: { filter: { _id: string; versionId: number }; update: StoredFormUpdate };
}

/**
 * Replaces `resource` and `index` of an existing version in place (re-encryption under a new
 * key): the identity fields stay as stored, a version that does not exist matches nothing and is
 * skipped, and the current record changes only if it is that very version.
 */
export function rewriteStep(record: StoredRecord): RewriteStep {
  const stored = normalizeRecord(record);
  const update: StoredFormUpdate = {};
  for (const field of ['resource', 'index'] as const) {
    if (stored[field] === undefined) (update.$unset ??= {})[field] = '';
    else (update.$set ??= {})[field] = stored[field] as never;
  }
  return {
    history: { filter: { _id: historyKey(record.resourceType, record.id, record.versionId) }, update },
    current: { filter: { _id: currentKey(record.resourceType, record.id), versionId: record.versionId }, update },
  };
}
