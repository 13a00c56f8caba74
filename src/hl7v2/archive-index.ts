import { rmSync } from 'node:fs';
import Sqlite, { type Database, type Statement } from 'better-sqlite3';
import type { ArchivedMessage, ListQuery } from './archive-record.js';

/**
 * The HL7 v2 archive's index on disk (issue 13): one row per archived message with its clear
 * metadata, the offset of its journal line (raw text) and of the line holding its current error,
 * so listing, reads and de-duplication do not need every record in memory, and a restart does
 * not read the journal. The journal (`messages.jsonl`) stays the record of truth; this file is
 * derived from it: it remembers how far into which journal file it got, catches up from there
 * at open, and is rebuilt when it is missing, unreadable or of another journal file. It holds no
 * message text, error text or JWE (those stay in the journal), so a key rotation needs no change here
 * beyond the new offsets.
 */
export interface IndexedMessage {
  record: Omit<ArchivedMessage, 'error'>;
  /** Keyed digest of the message's content (`Sealer.digests`); absent for a line written before digests. */
  digest?: string;
  rawOffset: number;
  /** Offset of the journal line whose JWE (or clear field, before encryption) holds the error; null: no error. */
  errorAt: number | null;
}

interface Row {
  record: string;
  raw_offset: number;
  error_at: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  -- null once rejected: a rejected message frees its control id for a corrected resend
  dedupe_key TEXT,
  received_at TEXT NOT NULL,
  outcome TEXT NOT NULL,
  message_type TEXT NOT NULL,
  control_id TEXT NOT NULL,
  application TEXT NOT NULL,
  facility TEXT NOT NULL,
  record TEXT NOT NULL,
  raw_offset INTEGER NOT NULL,
  error_at INTEGER,
  -- keyed digest of the content (issue 19): a resend is found by (dedupe_key, content_digest)
  content_digest TEXT
);
CREATE TABLE IF NOT EXISTS journal (only INTEGER PRIMARY KEY CHECK (only = 0), file TEXT NOT NULL, applied INTEGER NOT NULL);
`;

const INDEXES = `
CREATE INDEX IF NOT EXISTS messages_by_key ON messages (dedupe_key, seq) WHERE dedupe_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_by_content ON messages (dedupe_key, content_digest, seq) WHERE dedupe_key IS NOT NULL;
`;

const ROW = 'SELECT record, raw_offset, error_at FROM messages';

/**
 * The de-duplication lookups (issue 19): each reads the newest rows first through an index, and
 * stops at the first the caller takes, so a sender reusing one control id costs the same on its
 * thousandth message as on its second. Exported for the test that checks their query plans.
 */
export const DEDUPE_SQL = {
  /**
   * Rows under a key with one of `n` content digests (one per index key of the ring). The index
   * is named: without statistics SQLite would walk the key's rows in `seq` order instead (no sort).
   */
  sameContent: (n: number) => `SELECT record, raw_offset, error_at FROM messages INDEXED BY messages_by_content WHERE dedupe_key = ? AND content_digest IN (${Array(n).fill('?').join(', ')}) ORDER BY seq DESC`,
  /** Rows under a key, newest first. */
  latest: `${ROW} WHERE dedupe_key = ? ORDER BY seq DESC`,
  /** Rows under a key indexed without a digest (written before digests): compared by their raw text. */
  undigested: `${ROW} WHERE dedupe_key = ? AND content_digest IS NULL ORDER BY seq DESC`,
} as const;

/** Filters of a listing that SQL applies (the text filter is applied by the archive, on the raw texts; `count` by the caller's limit). */
export type IndexQuery = Omit<ListQuery, 'text' | 'count'>;

export class ArchiveIndex {
  readonly #db: Database;
  readonly #get: Statement;
  readonly #byKey: Statement;
  readonly #insert: Statement;
  readonly #update: Statement;
  readonly #applied: Statement;
  readonly #latest: Statement;
  readonly #undigested: Statement;
  /** `DEDUPE_SQL.sameContent` by the number of digests (of index keys in the ring). */
  readonly #sameContent = new Map<number, Statement>();

  private constructor(db: Database) {
    this.#db = db;
    this.#get = db.prepare(`${ROW} WHERE id = ?`);
    this.#byKey = db.prepare(`${ROW} WHERE dedupe_key = ? ORDER BY seq`);
    this.#insert = db.prepare(
      'INSERT OR REPLACE INTO messages (id, dedupe_key, received_at, outcome, message_type, control_id, application, facility, record, raw_offset, error_at, content_digest) VALUES (@id, @dedupeKey, @receivedAt, @outcome, @messageType, @controlId, @application, @facility, @record, @rawOffset, @errorAt, @digest)',
    );
    this.#latest = db.prepare(DEDUPE_SQL.latest);
    this.#undigested = db.prepare(DEDUPE_SQL.undigested);
    this.#update = db.prepare('UPDATE messages SET dedupe_key = @dedupeKey, outcome = @outcome, message_type = @messageType, record = @record, error_at = @errorAt WHERE id = @id');
    this.#applied = db.prepare('INSERT OR REPLACE INTO journal (only, file, applied) VALUES (0, ?, ?)');
  }

  /**
   * Opens (or creates) the index file. A file SQLite cannot read is removed and created again:
   * it only ever holds what the journal holds.
   */
  static open(file: string): ArchiveIndex {
    try {
      return ArchiveIndex.#open(file);
    } catch {
      for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
      return ArchiveIndex.#open(file);
    }
  }

  static #open(file: string): ArchiveIndex {
    const db = new Sqlite(file);
    try {
      db.pragma('journal_mode = WAL');
      // Derived data: a commit lost to a power cut is re-read from the (fsynced) journal at the next
      // start, since `applied` goes back with it. NORMAL in WAL mode cannot corrupt the file.
      db.pragma('synchronous = NORMAL');
      db.pragma('secure_delete = ON');
      db.pragma('cache_size = -2048');
      db.exec(SCHEMA);
      // An index from before content digests: its rows keep no digest (compared by raw text), new rows get one.
      if (!(db.pragma('table_info(messages)') as Array<{ name: string }>).some((c) => c.name === 'content_digest')) db.exec('ALTER TABLE messages ADD COLUMN content_digest TEXT');
      db.exec(INDEXES);
      return new ArchiveIndex(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Which journal file (identity) the index was built from, and up to which byte. */
  position(): { file: string; applied: number } | undefined {
    return this.#db.prepare('SELECT file, applied FROM journal').get() as { file: string; applied: number } | undefined;
  }

  /** Empties the index, to build it again from the start of `file`. */
  reset(file: string): void {
    this.#db.transaction(() => {
      this.#db.exec('DELETE FROM messages');
      this.#applied.run(file, 0);
    })();
  }

  /** Runs `apply` in one transaction, then records that the journal was applied up to `applied`. */
  advance(file: string, applied: number, apply: () => void): void {
    this.#db.transaction(() => {
      apply();
      this.#applied.run(file, applied);
    })();
  }

  /** A new message (or, while the index is built again, an old one). */
  insert(entry: IndexedMessage): void {
    const { record } = entry;
    this.#insert.run({ ...columns(entry), receivedAt: record.receivedAt, controlId: record.controlId, application: record.sender.application, facility: record.sender.facility, rawOffset: entry.rawOffset, digest: entry.digest ?? null });
  }

  /** Stores the changed record of a message. */
  update(entry: IndexedMessage): void {
    this.#update.run(columns(entry));
  }

  get(id: string): IndexedMessage | undefined {
    const row = this.#get.get(id) as Row | undefined;
    return row && fromRow(row);
  }

  /** The messages under a dedupe key (not rejected), oldest first. */
  byKey(key: string): IndexedMessage[] {
    return (this.#byKey.all(key) as Row[]).map(fromRow);
  }

  /**
   * The newest row of a de-duplication lookup (`DEDUPE_SQL`) that `take` accepts (the caller
   * skips rows whose changes in flight rejected them), or undefined. `digests`: for `sameContent`.
   */
  newest(lookup: 'sameContent' | 'latest', key: string, take: (m: IndexedMessage) => boolean, digests: readonly string[] = []): IndexedMessage | undefined {
    const rows = (lookup === 'sameContent' ? this.#sameContentOf(digests.length).iterate(key, ...digests) : this.#latest.iterate(key)) as IterableIterator<Row>;
    for (const row of rows) {
      const message = fromRow(row);
      if (take(message)) {
        rows.return?.();
        return message;
      }
    }
    return undefined;
  }

  /** Every row of a de-duplication lookup that `take` accepts, newest first (`undigested`: rows from before digests). */
  all(lookup: 'undigested', key: string, take: (m: IndexedMessage) => boolean): IndexedMessage[] {
    return (this.#undigested.all(key) as Row[]).map(fromRow).filter(take);
  }

  #sameContentOf(n: number): Statement {
    let statement = this.#sameContent.get(n);
    if (!statement) this.#sameContent.set(n, (statement = this.#db.prepare(DEDUPE_SQL.sameContent(n))));
    return statement;
  }

  /** Newest first, filtered by SQL, `limit` at a time. */
  list(query: IndexQuery, limit: number): IndexedMessage[] {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, ...values: unknown[]): void => void (where.push(sql), params.push(...values));
    if (query.outcome) add('outcome = ?', query.outcome);
    if (query.messageType) add("message_type LIKE ? ESCAPE '\\'", `${query.messageType.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (query.controlId) add('control_id = ?', query.controlId);
    if (query.sender) add('(application = ? OR facility = ?)', query.sender, query.sender);
    if (query.since) add('received_at >= ?', query.since);
    if (query.until) add('received_at < ?', query.until);
    if (query.before) add('seq < (SELECT seq FROM messages WHERE id = ?)', query.before);
    const sql = `SELECT record, raw_offset, error_at FROM messages ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...params, limit) as Row[]).map(fromRow);
  }

  /** After a rotation rewrote the journal: clears the freed pages out of the WAL too. */
  checkpoint(): void {
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
  }

  close(): void {
    this.#db.close();
  }
}

/** The de-duplication key of a record, or null when it is rejected (see archive.ts indexKey). */
export function dedupeKeyOf(record: Omit<ArchivedMessage, 'error'>): string | null {
  return record.outcome === 'rejected' ? null : `${record.sender.application}|${record.sender.facility}|${record.controlId}`;
}

function columns(entry: IndexedMessage) {
  const { record } = entry;
  return { id: record.id, dedupeKey: dedupeKeyOf(record), outcome: record.outcome, messageType: record.messageType, record: JSON.stringify(record), errorAt: entry.errorAt };
}

function fromRow(row: Row): IndexedMessage {
  return { record: JSON.parse(row.record) as IndexedMessage['record'], rawOffset: row.raw_offset, errorAt: row.error_at };
}
