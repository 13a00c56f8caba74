import { VersionConflictError, type StoredRecord, type WriteOp } from '../port.js';

/** Looks up the committed (visible) versionId of a resource, 0 when none exists. */
export type CommittedVersion = (resourceType: string, id: string) => number;

/**
 * Optimistic version checks that stay correct under group commit.
 *
 * A commit is checked when it is submitted, but becomes visible only after its journal
 * line is fsynced, and other commits may be checked in between. So the checks run against
 * the committed state overlaid with every commit still waiting for its fsync: the second of
 * two writers expecting the same version sees the first one's reservation and conflicts,
 * exactly as if the commits had run one after another.
 */
export class VersionReservations {
  readonly #pending = new Map<string, { versionId: number; holders: number }>();

  constructor(private readonly committed: CommittedVersion) {}

  /**
   * Checks every write of a commit (in order, so a later write to the same resource sees the
   * earlier one) and reserves the new versions. Throws VersionConflictError, reserving
   * nothing, when any precondition fails.
   */
  reserve(writes: readonly WriteOp[]): void {
    const local = new Map<string, number>();
    for (const { record, expectedVersion } of writes) {
      const key = keyOf(record);
      const actual = local.get(key) ?? this.#pending.get(key)?.versionId ?? this.committed(record.resourceType, record.id);
      if (actual !== expectedVersion) throw new VersionConflictError(record.resourceType, record.id, expectedVersion, actual);
      local.set(key, record.versionId);
    }
    for (const { record } of writes) {
      const key = keyOf(record);
      const entry = this.#pending.get(key);
      if (entry) {
        entry.versionId = record.versionId;
        entry.holders++;
      } else {
        this.#pending.set(key, { versionId: record.versionId, holders: 1 });
      }
    }
  }

  /** Drops the reservations of a commit once it is applied (or has failed). */
  release(records: readonly StoredRecord[]): void {
    for (const record of records) {
      const key = keyOf(record);
      const entry = this.#pending.get(key);
      if (entry && --entry.holders === 0) this.#pending.delete(key);
    }
  }

  /** Forgets everything, e.g. after a failure made every pending commit fail. */
  clear(): void {
    this.#pending.clear();
  }
}

function keyOf(record: StoredRecord): string {
  // Resource type names never contain NUL, so the key is unambiguous.
  return `${record.resourceType}\u0000${record.id}`;
}
