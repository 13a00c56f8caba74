import { rmSync } from 'node:fs';
import Sqlite, { type Database, type Statement } from 'better-sqlite3';
import type { ArchivedMessage, ListQuery } from './archive.js';

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
  error_at INTEGER
);
CREATE INDEX IF NOT EXISTS messages_by_key ON messages (dedupe_key, seq) WHERE dedupe_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS journal (only INTEGER PRIMARY KEY CHECK (only = 0), file TEXT NOT NULL, applied INTEGER NOT NULL);
`;

/** Filters of a listing that SQL applies (the text filter is applied by the archive, on the raw texts; `count` by the caller's limit). */
export type IndexQuery = Omit<ListQuery, 'text' | 'count'>;

export class ArchiveIndex {
  readonly #db: Database;
  readonly #get: Statement;
  readonly #byKey: Statement;
  readonly #insert: Statement;
  readonly #update: Statement;
  readonly #applied: Statement;

  private constructor(db: Database) {
    this.#db = db;
    this.#get = db.prepare('SELECT record, raw_offset, error_at FROM messages WHERE id = ?');
    this.#byKey = db.prepare('SELECT record, raw_offset, error_at FROM messages WHERE dedupe_key = ? ORDER BY seq');
    this.#insert = db.prepare(
      'INSERT OR REPLACE INTO messages (id, dedupe_key, received_at, outcome, message_type, control_id, application, facility, record, raw_offset, error_at) VALUES (@id, @dedupeKey, @receivedAt, @outcome, @messageType, @controlId, @application, @facility, @record, @rawOffset, @errorAt)',
    );
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
    this.#insert.run({ ...columns(entry), receivedAt: record.receivedAt, controlId: record.controlId, application: record.sender.application, facility: record.sender.facility, rawOffset: entry.rawOffset });
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
