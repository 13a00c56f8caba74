import { readLegacy, type LegacyGeneration } from '../store/legacy/legacy-files.js';
import { VersionConflictError, type StorePort, type WriteOp } from '../store/port.js';
import type { StoreCounts } from './migrate.js';

/**
 * Copies a DATA_DIR in the embedded store's old journal/snapshot format into a store (the SQLite
 * store in the same directory, or MongoDB), through the StorePort only (issue 13).
 *
 * The old files are replayed in their order: every version of the snapshot, then each intact
 * journal line: a commit becomes `commit` (each version expecting the one before it), an
 * in-place rewrite (key rotation) becomes `rewrite`. Consecutive commit lines are grouped into one
 * atomic commit of about `groupVersions` versions, so the copy costs one fsync per group, not one
 * per resource. Records are copied byte for byte: resources stay encrypted, index tokens as they are.
 *
 * Resumable: groups are applied atomically and in order, so what an interrupted run stored is a
 * prefix of the lines. A run on a target that is not empty checks, line by line, whether the
 * first version of a commit line is already there, skips the lines that are, and copies the rest.
 * Rewrites are replayed every time: replacing a version's stored form with the same bytes again
 * changes nothing, and later lines still apply after it in order.
 */

export interface LegacyMigrationReport {
  /** Versions (and resources) the old files hold: the counts the target must reach. */
  expected: StoreCounts;
  /** Versions committed by this run. */
  copiedVersions: number;
  /** Versions found already copied (by an earlier, interrupted run). */
  skippedVersions: number;
  /** Versions replaced in place by replayed rewrite lines. */
  rewrittenVersions: number;
  target: StoreCounts;
  countsMatch: boolean;
}

export interface LegacyMigrationOptions {
  /** Versions per commit (default 1000). */
  groupVersions?: number;
  /** Called after each applied line with the bytes of the old files read so far. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** Copies the old-format `generation` into `target`, which must be open. */
export async function migrateLegacy(generation: LegacyGeneration, target: StorePort, options: LegacyMigrationOptions = {}): Promise<LegacyMigrationReport> {
  const groupVersions = options.groupVersions ?? 1000;
  const report: LegacyMigrationReport = {
    expected: { current: 0, history: 0 },
    copiedVersions: 0,
    skippedVersions: 0,
    rewrittenVersions: 0,
    target: { current: 0, history: 0 },
    countsMatch: false,
  };
  // Only a target that already holds something can hold part of this copy.
  let resuming = (await target.count('history', {})) > 0;
  let pending: WriteOp[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    await commitGroup(target, pending);
    report.copiedVersions += pending.length;
    pending = [];
  };
  options.onProgress?.(0, generation.bytes);
  for await (const batch of readLegacy(generation)) {
    if (batch.kind === 'rewrite') {
      await flush();
      if (!target.rewrite) throw new Error('The target store cannot rewrite versions in place, which the old journal needs');
      await target.rewrite(batch.records);
      report.rewrittenVersions += batch.records.length;
    } else if (batch.records.length > 0) {
      report.expected.history += batch.records.length;
      // A resource starts at version 1 (a version history never restarts), so this counts resources.
      report.expected.current += batch.records.filter((r) => r.versionId === 1).length;
      const first = batch.records[0];
      if (resuming && (await target.find('history', { resourceType: first.resourceType, id: first.id, versionId: first.versionId }, { limit: 1 })).length > 0) {
        report.skippedVersions += batch.records.length;
      } else {
        resuming = false; // everything after the first line not copied yet is not copied either
        pending.push(...batch.records.map((record) => ({ record, expectedVersion: record.versionId - 1 })));
        if (pending.length >= groupVersions) await flush();
      }
    }
    options.onProgress?.(batch.position, generation.bytes);
  }
  await flush();
  report.target = { current: await target.count('current', {}), history: await target.count('history', {}) };
  report.countsMatch = report.target.current === report.expected.current && report.target.history === report.expected.history;
  return report;
}

/**
 * Commits a group expecting contiguous versions; when the old store skipped version numbers
 * (the commit fails on a precondition), retries once expecting what the target actually holds.
 */
async function commitGroup(target: StorePort, writes: WriteOp[]): Promise<void> {
  try {
    await target.commit(writes);
  } catch (err) {
    if (!(err instanceof VersionConflictError)) throw err;
    const previous = new Map<string, number>();
    const relinked: WriteOp[] = [];
    for (const { record } of writes) {
      const key = `${record.resourceType}/${record.id}`;
      let expected = previous.get(key);
      if (expected === undefined) {
        const [current] = await target.find('current', { resourceType: record.resourceType, id: record.id }, { limit: 1 });
        expected = current?.versionId ?? 0;
      }
      relinked.push({ record, expectedVersion: expected });
      previous.set(key, record.versionId);
    }
    await target.commit(relinked);
  }
}
