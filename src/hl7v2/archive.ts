import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Sealer } from '../crypto/sealed.js';
import { Journal } from './journal.js';

export type Outcome = 'received' | 'applied' | 'error' | 'rejected';

/** What the archive keeps of every message (docs/hl7v2-operations.md); `raw` is read on demand. */
export interface ArchivedMessage {
  id: string;
  receivedAt: string;
  updatedAt: string;
  /** MSH-3 / MSH-4 and where the message came from (`mllp://1.2.3.4:5000`, `http`). */
  sender: { application: string; facility: string; address: string };
  transport: 'mllp' | 'http';
  controlId: string;
  /**
   * `meta.source` of what the message writes, when not the one its dedupe key gives: a message
   * reusing an earlier message's control id with other content (issue 19) gets its own, so
   * recovery after a crash tells their writes apart.
   */
  source?: string;
  messageType: string;
  version: string;
  outcome: Outcome;
  /** MSA-1 of the last acknowledgement. */
  ack?: string;
  error?: { code: string; text: string; location?: string };
  /** `Type/id` of every resource the message wrote, or named and found unchanged (not written again). */
  resources: string[];
  /** How often the message was applied (replays) and redelivered (duplicates acknowledged again). */
  attempts: number;
  duplicates: number;
}

/**
 * A journal line. What identifies a patient — the raw text and the error text (which may quote
 * values) — is sealed as one JWE under the key ring (`jwe`, bound to the record id); the rest is
 * metadata kept in clear. `raw` and a clear `changes.error` are only read, from archives written
 * before encryption; a rotation seals them.
 */
type Line =
  | { op: 'received'; record: ArchivedMessage; jwe?: string; raw?: string }
  | { op: 'update'; id: string; changes: Partial<ArchivedMessage>; jwe?: string; clearError?: true };

/** What the JWE of a line holds. */
interface Sealed {
  raw?: string;
  error?: ArchivedMessage['error'];
}

export interface ListQuery {
  outcome?: string;
  messageType?: string;
  controlId?: string;
  sender?: string;
  since?: string;
  until?: string;
  /**
   * Substring of the raw message text (case-insensitive). The raw texts are encrypted: each
   * candidate (after the metadata filters) is read and decrypted, about 0.1–0.3 ms per message.
   */
  text?: string;
  count?: number;
  /** Id of the last record of the previous page (newest first). */
  before?: string;
}

/**
 * The message archive: an fsynced JSON-lines journal under `DATA_DIR/hl7v2/`, with an in-memory
 * index of the records (not the raw texts) for listing, search and de-duplication by
 * sending application, facility and MSH-10. Holds no FHIR data: only what arrived and what became of it.
 * Raw texts and error texts are on disk only as JWEs of the at-rest key ring (README "HL7 v2");
 * `rotate` moves them to the current key.
 */
export class MessageArchive {
  private readonly journal: Journal;
  private readonly records = new Map<string, ArchivedMessage & { rawOffset: number }>();
  /** Dedupe key → ids of the records under it, oldest first (a sender may reuse a control id). */
  private readonly byKey = new Map<string, string[]>();
  private order: string[] = [];
  /** Lines are sealed in order of the calls, and appended in that order (sealing is asynchronous). */
  private chain: Promise<unknown> = Promise.resolve();
  private rotating?: Promise<unknown>;

  constructor(
    dataDir: string,
    private readonly sealer: Sealer,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.journal = new Journal(path.join(dataDir, 'hl7v2', 'messages.jsonl'));
  }

  /** The de-duplication key of a message (v2 ch. 2.10.1: MSH-10 is unique per sending application/facility). */
  static key(application: string, facility: string, controlId: string): string {
    return `${application}|${facility}|${controlId}`;
  }

  /** Loads the index; throws when the journal does not decrypt with the key ring (no fallback to clear text). */
  async open(): Promise<void> {
    let sample: { id: string; jwe: string } | undefined;
    for (const { line, offset } of await this.journal.open()) {
      const entry = JSON.parse(line) as Line;
      if (entry.op === 'received') {
        if (entry.jwe) sample = { id: entry.record.id, jwe: entry.jwe };
        const error = entry.jwe && entry.record.outcome !== 'received' ? (await this.unseal(entry.record.id, entry.jwe)).error : undefined;
        this.index({ ...entry.record, ...(error ? { error } : {}), rawOffset: offset });
        continue;
      }
      const record = this.records.get(entry.id);
      if (!record) continue;
      Object.assign(record, entry.changes);
      if (entry.jwe) record.error = (await this.unseal(entry.id, entry.jwe)).error;
      if (entry.clearError) delete record.error;
    }
    this.byKey.clear();
    for (const id of this.order) this.indexKey(this.records.get(id)!);
    // A wrong or foreign key ring stops the start here, not at the first read of a raw text.
    if (sample) await this.unseal(sample.id, sample.jwe);
  }

  async close(): Promise<void> {
    await this.chain;
    return this.journal.close();
  }

  /** Records a new message; `durable` waits for the fsync (enhanced-mode commit acknowledgements). */
  async receive(fields: Omit<ArchivedMessage, 'id' | 'receivedAt' | 'updatedAt' | 'resources' | 'attempts' | 'duplicates' | 'outcome'> & { outcome?: Outcome }, raw: string, durable: boolean): Promise<ArchivedMessage> {
    const now = this.clock().toISOString();
    const record: ArchivedMessage = { id: randomUUID(), receivedAt: now, updatedAt: now, outcome: 'received', resources: [], attempts: 0, duplicates: 0, ...fields };
    const { error, ...clear } = record;
    const written = this.append(async () => ({ op: 'received', record: clear, jwe: await this.seal(record.id, { raw, ...(error ? { error } : {}) }) }));
    const indexed = { ...record, rawOffset: -1 };
    this.index(indexed);
    const settle = written.then((offset) => void (indexed.rawOffset = offset));
    if (durable) await settle;
    else settle.catch(() => undefined);
    return record;
  }

  /** Applies changes to a record and waits until they are durable. */
  async update(id: string, changes: Partial<ArchivedMessage>): Promise<ArchivedMessage> {
    const record = this.records.get(id);
    if (!record) throw new Error(`unknown archived message ${id}`);
    const stamped = { ...changes, updatedAt: this.clock().toISOString() };
    Object.assign(record, stamped);
    if (record.outcome === 'rejected') this.unindexKey(record);
    const { error, ...clear } = stamped;
    await this.append(async () => ({ op: 'update', id, changes: clear, ...(error ? { jwe: await this.seal(id, { error }) } : 'error' in stamped ? { clearError: true as const } : {}) }));
    return this.view(record);
  }

  get(id: string): ArchivedMessage | undefined {
    const record = this.records.get(id);
    return record && this.view(record);
  }

  /** The latest record under a dedupe key (not rejected), or undefined. */
  byDedupeKey(key: string): ArchivedMessage | undefined {
    const id = this.byKey.get(key)?.at(-1);
    return id ? this.get(id) : undefined;
  }

  /** Every record under a dedupe key (not rejected), newest first. */
  allByDedupeKey(key: string): ArchivedMessage[] {
    return [...(this.byKey.get(key) ?? [])].reverse().map((id) => this.get(id)!);
  }

  /** The raw message text as received. */
  async raw(id: string): Promise<string | undefined> {
    const record = this.records.get(id);
    if (!record) return undefined;
    for (let i = 0; record.rawOffset < 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 5));
    // Offsets change when a rotation rewrites the journal.
    await this.rotating;
    const line = (await this.journal.read(record.rawOffset)) as Extract<Line, { op: 'received' }>;
    return line.jwe ? (await this.unseal(id, line.jwe)).raw : line.raw;
  }

  /**
   * Re-encrypts every sealed line not under the ring's current key (every line with `all`), and
   * seals what an archive from before encryption holds in clear, by rewriting the journal
   * atomically (Journal.rewrite): afterwards the file holds no JWE of an older key and no clear
   * text. Returns how many lines were rewritten.
   */
  async rotate(options: { all?: boolean } = {}): Promise<number> {
    let rewritten = 0;
    const current = this.sealer.currentKid();
    const done = this.chain.then(async () => {
      const lines = await this.journal.rewrite(async (text) => {
        const line = await this.reseal(JSON.parse(text) as Line, (jwe) => options.all === true || this.sealer.kidOf(jwe) !== current);
        if (line) rewritten++;
        return line && JSON.stringify(line);
      });
      for (const { line, offset } of lines) {
        const entry = JSON.parse(line) as Line;
        const record = entry.op === 'received' ? this.records.get(entry.record.id) : undefined;
        if (record) record.rawOffset = offset;
      }
    });
    this.chain = this.rotating = done.catch(() => undefined);
    await done;
    return rewritten;
  }

  /** A journal line sealed under the current key, or undefined when it needs no change. */
  private async reseal(entry: Line, stale: (jwe: string) => boolean): Promise<Line | undefined> {
    if (entry.op === 'received') {
      const { id } = entry.record;
      if (!(entry.jwe && stale(entry.jwe)) && entry.raw === undefined && entry.record.error === undefined) return undefined;
      const held = entry.jwe ? await this.unseal(id, entry.jwe) : {};
      const { error: clearError, ...clear } = entry.record;
      const error = held.error ?? clearError;
      return { op: 'received', record: clear, jwe: await this.seal(id, { raw: held.raw ?? entry.raw, ...(error ? { error } : {}) }) };
    }
    if (!(entry.jwe && stale(entry.jwe)) && entry.changes.error === undefined) return undefined;
    const { error, ...clear } = entry.changes;
    const value: Sealed = entry.jwe ? await this.unseal(entry.id, entry.jwe) : { error };
    return { op: 'update', id: entry.id, changes: clear, jwe: await this.seal(entry.id, value), ...(entry.clearError ? { clearError: true as const } : {}) };
  }

  private append(line: () => Promise<Line>): Promise<number> {
    const queued = this.chain.then(async () => ({ written: this.journal.append(await line()) }));
    this.chain = queued.catch(() => undefined);
    return queued.then((q) => q.written);
  }

  private seal(id: string, value: Sealed): Promise<string> {
    return this.sealer.seal(value, `hl7v2-archive:${id}`);
  }

  private async unseal(id: string, jwe: string): Promise<Sealed> {
    try {
      return (await this.sealer.open(jwe, `hl7v2-archive:${id}`)) as Sealed;
    } catch (err) {
      throw new Error(`HL7 v2 archive ${this.journal.file}, message ${id}: ${(err as Error).message}`);
    }
  }

  /** Newest first, filtered; `text` reads the raw texts of the candidates. */
  async list(query: ListQuery): Promise<{ records: ArchivedMessage[]; next?: string }> {
    const count = Math.min(Math.max(query.count ?? 50, 1), 500);
    const start = query.before ? this.order.lastIndexOf(query.before) - 1 : this.order.length - 1;
    const found: ArchivedMessage[] = [];
    for (let i = start; i >= 0 && found.length <= count; i--) {
      const r = this.records.get(this.order[i])!;
      if (!matches(r, query)) continue;
      if (query.text && !(await this.raw(r.id))?.toLowerCase().includes(query.text.toLowerCase())) continue;
      found.push(this.view(r));
    }
    const more = found.length > count;
    const records = found.slice(0, count);
    return { records, next: more ? records.at(-1)!.id : undefined };
  }

  private index(record: ArchivedMessage & { rawOffset: number }): void {
    this.records.set(record.id, record);
    this.order.push(record.id);
    this.indexKey(record);
  }

  // A rejected message was never applied: its control id stays free for a corrected or retried resend.
  private indexKey(record: ArchivedMessage): void {
    if (record.outcome === 'rejected') return;
    const key = MessageArchive.key(record.sender.application, record.sender.facility, record.controlId);
    const ids = this.byKey.get(key) ?? [];
    if (!ids.includes(record.id)) ids.push(record.id);
    this.byKey.set(key, ids);
  }

  private unindexKey(record: ArchivedMessage): void {
    const key = MessageArchive.key(record.sender.application, record.sender.facility, record.controlId);
    const ids = (this.byKey.get(key) ?? []).filter((id) => id !== record.id);
    if (ids.length) this.byKey.set(key, ids);
    else this.byKey.delete(key);
  }

  private view(record: ArchivedMessage & { rawOffset: number }): ArchivedMessage {
    const { rawOffset: _offset, ...rest } = record;
    return structuredClone(rest);
  }
}

function matches(r: ArchivedMessage, q: ListQuery): boolean {
  if (q.outcome && r.outcome !== q.outcome) return false;
  if (q.messageType && !r.messageType.startsWith(q.messageType)) return false;
  if (q.controlId && r.controlId !== q.controlId) return false;
  if (q.sender && r.sender.application !== q.sender && r.sender.facility !== q.sender) return false;
  if (q.since && r.receivedAt < q.since) return false;
  if (q.until && r.receivedAt >= q.until) return false;
  return true;
}
