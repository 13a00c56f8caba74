import type { StoredRecord, WriteOp } from '../port.js';
import { encodeJsonLine } from './line-codec.js';

/** A commit ready for the journal: its line and the records as the store will hold them. */
export interface CommitEntry {
  line: Buffer;
  records: StoredRecord[];
  /** A rewrite of existing versions (StorePort.rewrite) rather than new ones. */
  rewrite?: true;
}

/** The body of a journal line replacing existing versions in place. */
export interface RewriteLine {
  rewrites: StoredRecord[];
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

/** Serializes a rewrite (StorePort.rewrite) as a journal line, like `toCommitEntry`. */
export function toRewriteEntry(records: readonly StoredRecord[]): CommitEntry {
  const json = JSON.stringify({ rewrites: [...records] } satisfies RewriteLine);
  return { line: encodeJsonLine(json), records: (JSON.parse(json) as RewriteLine).rewrites, rewrite: true };
}

/** True when a decoded journal line has the shape of a rewrite. */
export function isRewriteLine(value: unknown): value is RewriteLine {
  return typeof value === 'object' && value !== null && Array.isArray((value as RewriteLine).rewrites);
}

/** True when a decoded journal line has the shape of a commit. */
export function isCommitLine(value: unknown): value is CommitLine {
  return typeof value === 'object' && value !== null && Array.isArray((value as CommitLine).records);
}

/** Shared by every adapter; re-exported here where the embedded store has always found it. */
export { assertWellFormed } from '../write-checks.js';
