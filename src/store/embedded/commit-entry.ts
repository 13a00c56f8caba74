import type { StoredRecord, WriteOp } from '../port.js';
import { encodeJsonLine } from './line-codec.js';

/** A commit ready for the journal: its line and the records as the store will hold them. */
export interface CommitEntry {
  line: Buffer;
  records: StoredRecord[];
}

/** The body of a journal line: all records of one commit, applied together or not at all. */
export interface CommitLine {
  records: StoredRecord[];
}

/**
 * Serializes a commit once: the same JSON becomes the journal line and, parsed back, the
 * records held in memory. So the caller's objects are never shared with the store, and what
 * a read returns before a restart is exactly what recovery will rebuild after one.
 */
export function toCommitEntry(writes: readonly WriteOp[]): CommitEntry {
  const json = JSON.stringify({ records: writes.map((w) => w.record) } satisfies CommitLine);
  return { line: encodeJsonLine(json), records: (JSON.parse(json) as CommitLine).records };
}

/** True when a decoded journal line has the shape of a commit. */
export function isCommitLine(value: unknown): value is CommitLine {
  return typeof value === 'object' && value !== null && Array.isArray((value as CommitLine).records);
}

/**
 * Rejects malformed writes before anything is checked or stored. These are programming
 * errors in the caller, not conflicts, hence TypeError. versionId must grow, otherwise a
 * write would overwrite an existing history entry.
 */
export function assertWellFormed(writes: readonly WriteOp[]): void {
  for (const { record, expectedVersion } of writes) {
    const where = `${record?.resourceType}/${record?.id}`;
    if (typeof record?.resourceType !== 'string' || !record.resourceType || typeof record.id !== 'string' || !record.id) {
      throw new TypeError(`Invalid write ${where}: resourceType and id must be non-empty strings`);
    }
    if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
      throw new TypeError(`Invalid write ${where}: expectedVersion must be an integer >= 0`);
    }
    if (!Number.isInteger(record.versionId) || record.versionId <= expectedVersion) {
      throw new TypeError(`Invalid write ${where}: versionId must be an integer greater than expectedVersion`);
    }
    if (typeof record.lastUpdated !== 'string' || typeof record.deleted !== 'boolean') {
      throw new TypeError(`Invalid write ${where}: lastUpdated (string) and deleted (boolean) are required`);
    }
  }
}
