import { randomUUID } from 'node:crypto';
import path from 'node:path';
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
  messageType: string;
  version: string;
  outcome: Outcome;
  /** MSA-1 of the last acknowledgement. */
  ack?: string;
  error?: { code: string; text: string; location?: string };
  /** `Type/id` of every resource the message wrote. */
  resources: string[];
  /** How often the message was applied (replays) and redelivered (duplicates acknowledged again). */
  attempts: number;
  duplicates: number;
}

type Line = { op: 'received'; record: ArchivedMessage; raw: string } | { op: 'update'; id: string; changes: Partial<ArchivedMessage> };

export interface ListQuery {
  outcome?: string;
  messageType?: string;
  controlId?: string;
  sender?: string;
  since?: string;
  until?: string;
  /** Substring of the raw message text (case-insensitive). */
  text?: string;
  count?: number;
  /** Id of the last record of the previous page (newest first). */
  before?: string;
}

/**
 * The message archive: an fsynced JSON-lines journal under `DATA_DIR/hl7v2/`, with an in-memory
 * index of the records (not the raw texts) for listing, search and de-duplication by
 * sending application, facility and MSH-10. Holds no FHIR data: only what arrived and what became of it.
 */
export class MessageArchive {
  private readonly journal: Journal;
  private readonly records = new Map<string, ArchivedMessage & { rawOffset: number }>();
  private readonly byKey = new Map<string, string>();
  private order: string[] = [];

  constructor(dataDir: string, private readonly clock: () => Date = () => new Date()) {
    this.journal = new Journal(path.join(dataDir, 'hl7v2', 'messages.jsonl'));
  }

  /** The de-duplication key of a message (v2 ch. 2.10.1: MSH-10 is unique per sending application/facility). */
  static key(application: string, facility: string, controlId: string): string {
    return `${application}|${facility}|${controlId}`;
  }

  async open(): Promise<void> {
    for (const { line, offset } of await this.journal.open()) {
      const entry = JSON.parse(line) as Line;
      if (entry.op === 'received') this.index({ ...entry.record, rawOffset: offset });
      else Object.assign(this.records.get(entry.id) ?? {}, entry.changes);
    }
    this.byKey.clear();
    for (const id of this.order) this.indexKey(this.records.get(id)!);
  }

  close(): Promise<void> {
    return this.journal.close();
  }

  /** Records a new message; `durable` waits for the fsync (enhanced-mode commit acknowledgements). */
  async receive(fields: Omit<ArchivedMessage, 'id' | 'receivedAt' | 'updatedAt' | 'resources' | 'attempts' | 'duplicates' | 'outcome'> & { outcome?: Outcome }, raw: string, durable: boolean): Promise<ArchivedMessage> {
    const now = this.clock().toISOString();
    const record: ArchivedMessage = { id: randomUUID(), receivedAt: now, updatedAt: now, outcome: 'received', resources: [], attempts: 0, duplicates: 0, ...fields };
    const written = this.journal.append({ op: 'received', record, raw } satisfies Line);
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
    if (record.outcome === 'rejected') this.byKey.delete(MessageArchive.key(record.sender.application, record.sender.facility, record.controlId));
    await this.journal.append({ op: 'update', id, changes: stamped } satisfies Line);
    return this.view(record);
  }

  get(id: string): ArchivedMessage | undefined {
    const record = this.records.get(id);
    return record && this.view(record);
  }

  byDedupeKey(key: string): ArchivedMessage | undefined {
    const id = this.byKey.get(key);
    return id ? this.get(id) : undefined;
  }

  /** The raw message text as received. */
  async raw(id: string): Promise<string | undefined> {
    const record = this.records.get(id);
    if (!record) return undefined;
    for (let i = 0; record.rawOffset < 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 5));
    return ((await this.journal.read(record.rawOffset)) as { raw: string }).raw;
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
    if (record.outcome !== 'rejected') this.byKey.set(MessageArchive.key(record.sender.application, record.sender.facility, record.controlId), record.id);
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
