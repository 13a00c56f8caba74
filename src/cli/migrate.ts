import { parseArgs } from 'node:util';
import { keysetFilter, type SortKey } from '../search/keyset.js';
import type { StoreKind } from '../store/create-store.js';
import { VersionConflictError, type StorePort, type StoredRecord, type WriteOp } from '../store/port.js';

/**
 * Copies every resource with its whole history from one store to another, through the StorePort
 * only, so it works between any two adapters (embedded → MongoDB and back).
 *
 * Idempotent: a resource whose current version the target already has is left alone; one the
 * target has an older version of gets only the versions it lacks, committed in order in one
 * atomic commit (each expecting the version before it, so a concurrent writer on the target is
 * detected, never overwritten). Records are copied byte for byte: resources stay encrypted and
 * index tokens stay as they are. A target that is ahead of the source is reported, not touched.
 */

export interface StoreCounts {
  current: number;
  history: number;
}

export interface MigrationReport {
  /** Resources in the source. */
  resources: number;
  /** Resources the target received versions of in this run. */
  copiedResources: number;
  copiedVersions: number;
  /** Resources the target already had at the source's version. */
  upToDate: number;
  /** Resources left alone because the target disagrees (`Type/id: reason`). */
  conflicts: string[];
  counts: { source: StoreCounts; target: StoreCounts };
  /** True when both stores hold the same number of resources and versions. */
  countsMatch: boolean;
}

export interface MigrationOptions {
  /** Resources read from the source per page (default 500). */
  pageSize?: number;
  /** Resources copied at a time (default 8). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

const ORDER: SortKey[] = [
  { field: 'resourceType', direction: 1 },
  { field: 'id', direction: 1 },
];

/** Copies `source` into `target`; both must be open. */
export async function migrateStore(source: StorePort, target: StorePort, options: MigrationOptions = {}): Promise<MigrationReport> {
  const pageSize = options.pageSize ?? 500;
  const concurrency = options.concurrency ?? 8;
  const total = await source.count('current', {});
  const report: MigrationReport = { resources: 0, copiedResources: 0, copiedVersions: 0, upToDate: 0, conflicts: [], counts: emptyCounts(), countsMatch: false };
  options.onProgress?.(0, total);
  let after: unknown[] | undefined;
  for (;;) {
    // Keyset pages over (resourceType, id): no skip, and writes to the source cannot shift a page.
    const filter = after ? keysetFilter(ORDER, after, true) : {};
    const page = await source.find('current', filter, { sort: { resourceType: 1, id: 1 }, limit: pageSize });
    if (page.length === 0) break;
    await forEachLimited(page, concurrency, async (current) => {
      await copyResource(source, target, current, report);
      report.resources++;
      options.onProgress?.(report.resources, Math.max(total, report.resources));
    });
    const last = page[page.length - 1];
    after = [last.resourceType, last.id];
  }
  report.counts = { source: await countsOf(source), target: await countsOf(target) };
  report.countsMatch = report.counts.source.current === report.counts.target.current && report.counts.source.history === report.counts.target.history;
  return report;
}

async function copyResource(source: StorePort, target: StorePort, current: StoredRecord, report: MigrationReport): Promise<void> {
  const { resourceType, id } = current;
  const ref = `${resourceType}/${id}`;
  const [existing] = await target.find('current', { resourceType, id }, { limit: 1 });
  const have = existing?.versionId ?? 0;
  if (have === current.versionId) {
    if (existing!.lastUpdated === current.lastUpdated) report.upToDate++;
    else report.conflicts.push(`${ref}: the target's version ${have} differs from the source's (lastUpdated ${existing!.lastUpdated} vs ${current.lastUpdated})`);
    return;
  }
  if (have > current.versionId) {
    report.conflicts.push(`${ref}: the target is ahead (version ${have}, source ${current.versionId})`);
    return;
  }
  const versions = await source.find('history', { resourceType, id, versionId: { $gt: have } }, { sort: { versionId: 1 } });
  const writes: WriteOp[] = [];
  let previous = have;
  for (const record of versions) {
    writes.push({ record, expectedVersion: previous });
    previous = record.versionId;
  }
  if (writes.length === 0) return;
  try {
    await target.commit(writes);
    report.copiedResources++;
    report.copiedVersions += writes.length;
  } catch (err) {
    if (!(err instanceof VersionConflictError)) throw err;
    report.conflicts.push(`${ref}: written on the target meanwhile (expected version ${err.expected}, found ${err.actual})`);
  }
}

async function countsOf(store: StorePort): Promise<StoreCounts> {
  return { current: await store.count('current', {}), history: await store.count('history', {}) };
}

function emptyCounts(): MigrationReport['counts'] {
  return { source: { current: 0, history: 0 }, target: { current: 0, history: 0 } };
}

/** Runs `work` on every item, at most `limit` at a time; the first failure stops the rest and is thrown. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const KINDS: readonly StoreKind[] = ['embedded', 'mongo'];

/** Thrown for bad arguments: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Where a copy can come from: a store, or a DATA_DIR still in the embedded store's old journal format. */
export type MigrationSource = StoreKind | 'legacy';

/** The direction of the copy, from the command line. */
export function parseMigrateArgs(args: string[]): { from: MigrationSource; to: StoreKind } {
  let values: { from?: string; to?: string };
  try {
    ({ values } = parseArgs({ args, options: { from: { type: 'string' }, to: { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { from, to } = values;
  if (!KINDS.includes(to as StoreKind)) throw new UsageError('--to must be embedded or mongo');
  if (!KINDS.includes(from as StoreKind) && from !== 'legacy') throw new UsageError('--from must be legacy, embedded or mongo');
  if (from === to) throw new UsageError('--from and --to must differ');
  return { from: from as MigrationSource, to: to as StoreKind };
}
