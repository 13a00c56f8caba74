import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Sealer } from '../crypto/sealed.js';
import { ArchiveIndex, dedupeKeyOf, type IndexedMessage } from './archive-index.js';
import type { ArchivedMessage, ListQuery, Outcome } from './archive-record.js';
import { rewriteJournal, type Line, type Resealing, type Sealed } from './archive-rotation.js';
import { contentDigests } from './dedupe.js';
import { listMessages } from './archive-list.js';
import { Journal } from './journal.js';

export type { ArchivedMessage, ListQuery, Outcome } from './archive-record.js';

/** A record as the index and the writes in flight have it; its error unread (`at`: the journal line holding it) or known (`value`). */
interface Current {
  record: Omit<ArchivedMessage, 'error'>;
  error: { at: number | null } | { value: ArchivedMessage['error'] };
}

/** What the archive holds in memory of a message with writes not yet durable (bounded by the writes in flight). */
interface Pending {
  /** The record of a message received but not yet in the index. */
  base?: Omit<ArchivedMessage, 'error'>;
  /** Its content digest (as its journal line has it). */
  digest?: string;
  /** Changes not yet in the index; an `error` key (even undefined) overrides the indexed error. */
  changes: Partial<ArchivedMessage>;
  writes: number;
  order: number;
  /** Settles when the last write queued for it is durable and indexed. */
  written: Promise<unknown>;
}

const CATCH_UP_BATCH = 1_000;

/**
 * The message archive: an fsynced JSON-lines journal under `DATA_DIR/hl7v2/` (the record of
 * truth, raw texts included), with its index on disk beside it (`messages.index.db`,
 * archive-index.ts) for listing, reads and de-duplication by sending application, facility and
 * MSH-10: memory holds only the writes in flight, and a restart reads only the journal lines
 * the index has not seen (issue 13). Holds no FHIR data: only what arrived and what became of it.
 * Raw texts and error texts are on disk only as JWEs of the at-rest key ring (README "HL7 v2");
 * `rotate` moves them to the current key.
 */
export class MessageArchive {
  private readonly journal: Journal;
  private readonly indexFile: string;
  private index?: ArchiveIndex;
  /** Identity of the journal file the index follows (Journal.identity). */
  private journalId = '';
  private readonly pending = new Map<string, Pending>();
  private order = 0;
  /** Lines are sealed in order of the calls, and appended in that order (sealing is asynchronous). */
  private chain: Promise<unknown> = Promise.resolve();
  private rotating?: Promise<unknown>;

  constructor(
    dataDir: string,
    private readonly sealer: Sealer,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.journal = new Journal(path.join(dataDir, 'hl7v2', 'messages.jsonl'));
    this.indexFile = path.join(dataDir, 'hl7v2', 'messages.index.db');
  }

  /** The de-duplication key of a message (v2 ch. 2.10.1: MSH-10 is unique per sending application/facility). */
  static key(application: string, facility: string, controlId: string): string {
    return `${application}|${facility}|${controlId}`;
  }

  /**
   * Opens the journal and its index, bringing the index up to date with the lines it has not
   * seen (all of them when it is new: the first start after an upgrade, or after a restore);
   * throws when the journal does not decrypt with the key ring (no fallback to clear text).
   */
  async open(): Promise<void> {
    const size = await this.journal.open();
    this.journalId = await this.journal.identity();
    const index = (this.index = ArchiveIndex.open(this.indexFile));
    const position = index.position();
    if (!position || position.file !== this.journalId || position.applied > size) index.reset(this.journalId);
    let batch: Array<{ line: string; offset: number; end: number }> = [];
    const flush = (): void => {
      if (!batch.length) return;
      const lines = batch;
      index.advance(this.journalId, lines.at(-1)!.end, () => lines.forEach(({ line, offset }) => this.indexLine(JSON.parse(line) as Line, offset)));
      batch = [];
    };
    for await (const line of this.journal.lines(index.position()!.applied)) {
      batch.push(line);
      if (batch.length >= CATCH_UP_BATCH) flush();
    }
    flush();
    // A wrong or foreign key ring stops the start here, not at the first read of a raw text.
    const newest = index.list({}, 1)[0];
    if (newest) await this.raw(newest.record.id);
  }

  async close(): Promise<void> {
    await this.chain;
    await Promise.all([...this.pending.values()].map((p) => p.written.catch(() => undefined)));
    await this.journal.close();
    this.index?.close();
  }

  /** Records a new message; `durable` waits for the fsync (enhanced-mode commit acknowledgements). */
  async receive(fields: Omit<ArchivedMessage, 'id' | 'receivedAt' | 'updatedAt' | 'resources' | 'attempts' | 'duplicates' | 'outcome'> & { outcome?: Outcome }, raw: string, durable: boolean): Promise<ArchivedMessage> {
    const now = this.clock().toISOString();
    const record: ArchivedMessage = { id: randomUUID(), receivedAt: now, updatedAt: now, outcome: 'received', resources: [], attempts: 0, duplicates: 0, ...fields };
    const { error, ...clear } = record;
    const digest = contentDigests(this.sealer, raw)[0];
    this.pending.set(record.id, { base: clear, digest, changes: error ? { error } : {}, writes: 0, order: ++this.order, written: Promise.resolve() });
    const written = this.append(record.id, async () => ({ op: 'received', record: clear, jwe: await this.seal(record.id, { raw, ...(error ? { error } : {}) }), digest }));
    if (durable) await written;
    else written.catch(() => undefined);
    return structuredClone(record);
  }

  /** Applies changes to a record and waits until they are durable. */
  async update(id: string, changes: Partial<ArchivedMessage>): Promise<ArchivedMessage> {
    if (!this.current(id)) throw new Error(`unknown archived message ${id}`);
    const stamped = { ...changes, updatedAt: this.clock().toISOString() };
    const pending = this.pending.get(id) ?? { changes: {}, writes: 0, order: ++this.order, written: Promise.resolve() };
    Object.assign(pending.changes, stamped);
    this.pending.set(id, pending);
    const { error, ...clear } = stamped;
    await this.append(id, async () => ({ op: 'update', id, changes: clear, ...(error ? { jwe: await this.seal(id, { error }) } : 'error' in stamped ? { clearError: true as const } : {}) }));
    return (await this.get(id))!;
  }

  async get(id: string): Promise<ArchivedMessage | undefined> {
    await this.rotating;
    const current = this.current(id);
    return current && this.complete(current);
  }

  /** The latest record under a dedupe key (not rejected), or undefined. */
  async byDedupeKey(key: string): Promise<ArchivedMessage | undefined> {
    return (await this.earlier(key)).latest;
  }

  /**
   * What de-duplication asks of the messages before one under `key` (issue 19), by indexed
   * lookups that stop at the first answer, whatever the number of earlier messages: `same`, the
   * newest with the same content as `raw` (`messageContent`, by its keyed digest under any index
   * key of the ring); `latest`, the newest of all. `undigested`: the records indexed without a
   * digest (archived before digests, newest first), which the caller compares by their raw text;
   * only when no digested one has the same content. Not rejected ones, as `allByDedupeKey`.
   */
  async earlier(key: string, raw?: string): Promise<{ same?: ArchivedMessage; latest?: ArchivedMessage; undigested: ArchivedMessage[] }> {
    await this.rotating;
    const index = this.index!;
    const digests = raw === undefined ? [] : contentDigests(this.sealer, raw);
    const keyed = (c: Current | undefined): c is Current => c !== undefined && dedupeKeyOf(c.record) === key;
    const freshCurrent = this.fresh().map(([id, p]) => ({ current: this.current(id), digest: p.digest })).filter((f) => keyed(f.current));
    const take = (m: IndexedMessage): boolean => keyed(this.current(m.record.id, m));
    const found = (m: IndexedMessage | undefined): Current | undefined => m && this.current(m.record.id, m);
    const latest = freshCurrent[0]?.current ?? found(index.newest('latest', key, take));
    if (!latest) return { undigested: [] };
    const same = digests.length ? (freshCurrent.find((f) => f.digest !== undefined && digests.includes(f.digest))?.current ?? found(index.newest('sameContent', key, take, digests))) : undefined;
    const undigested = same || !digests.length ? [] : index.all('undigested', key, take).map((m) => this.current(m.record.id, m)!);
    return { same: same && (await this.complete(same)), latest: await this.complete(latest), undigested: await Promise.all(undigested.map((c) => this.complete(c))) };
  }

  /** Every record under a dedupe key (not rejected), newest first. */
  async allByDedupeKey(key: string): Promise<ArchivedMessage[]> {
    await this.rotating;
    // The index's rows are used as read: each earlier message is one row, not a lookup by id again.
    const found = new Map(this.index!.byKey(key).map((m) => [m.record.id, this.current(m.record.id, m)]));
    for (const [id, p] of [...this.pending].sort((a, b) => a[1].order - b[1].order)) {
      if (p.base && !found.has(id) && dedupeKeyOf(p.base) === key) found.set(id, this.current(id));
    }
    // Changes in flight may have rejected one since it was indexed.
    const keyed = [...found.values()].filter((c): c is Current => c !== undefined && dedupeKeyOf(c.record) === key);
    return Promise.all(keyed.reverse().map((c) => this.complete(c)));
  }

  /** The raw message text as received. */
  async raw(id: string): Promise<string | undefined> {
    let indexed = this.index!.get(id);
    const pending = this.pending.get(id);
    if (!indexed && pending?.base) {
      await pending.written.catch(() => undefined);
      indexed = this.index!.get(id);
    }
    if (!indexed) return undefined;
    // Offsets change when a rotation rewrites the journal.
    if (this.rotating) {
      await this.rotating;
      indexed = this.index!.get(id)!;
    }
    const line = (await this.journal.read(indexed.rawOffset)) as Extract<Line, { op: 'received' }>;
    return line.jwe ? (await this.unseal(id, line.jwe)).raw : line.raw;
  }

  /**
   * Re-encrypts every sealed line not under the ring's current key (every line with `all`), seals
   * what an archive from before encryption holds in clear, and digests again content under an
   * older index key (archive-rotation.ts); the index is then built again over the new file.
   * Returns how many lines were rewritten.
   */
  async rotate(options: { all?: boolean } = {}): Promise<number> {
    let rewritten = 0;
    const done = this.chain.then(async () => {
      const sealing: Resealing = { seal: (id, value) => this.seal(id, value), unseal: (id, jwe) => this.unseal(id, jwe), sealer: this.sealer, all: options.all === true };
      ({ rewritten, journalId: this.journalId } = await rewriteJournal(this.journal, this.index!, sealing, (line, offset) => this.indexLine(line, offset)));
    });
    this.chain = this.rotating = done.catch(() => undefined);
    try {
      await done;
    } finally {
      if (this.rotating === this.chain) this.rotating = undefined;
    }
    return rewritten;
  }

  /** Seals and appends a line for message `id`; resolves once it is durable and in the index. */
  private append(id: string, line: () => Promise<Line>): Promise<void> {
    const pending = this.pending.get(id)!;
    pending.writes++;
    const queued = this.chain.then(async () => {
      const entry = await line();
      // Indexed as soon as durable, in journal order: `applied` never passes a line not in the index.
      return { written: this.journal.append(entry).then(({ offset, end }) => this.index!.advance(this.journalId, end, () => this.indexLine(entry, offset))) };
    });
    this.chain = queued.catch(() => undefined);
    const written = queued
      .then((q) => q.written)
      .finally(() => {
        if (--pending.writes === 0 && this.pending.get(id) === pending) this.pending.delete(id);
      });
    pending.written = written;
    return written;
  }

  /** Applies one journal line to the index (inside ArchiveIndex.advance). */
  private indexLine(entry: Line, offset: number): void {
    const index = this.index!;
    if (entry.op === 'received') {
      const { error: clearError, ...record } = entry.record;
      // As before the index: the JWE of a line received with an outcome (rejected, 205) holds its error.
      const hasError = entry.jwe ? record.outcome !== 'received' : clearError !== undefined;
      index.insert({ record, digest: entry.digest, rawOffset: offset, errorAt: hasError ? offset : null });
      return;
    }
    const indexed = index.get(entry.id);
    if (!indexed) return;
    const { error: clearError, ...changes } = entry.changes;
    const errorAt = entry.jwe !== undefined || clearError !== undefined ? offset : entry.clearError ? null : indexed.errorAt;
    index.update({ record: { ...indexed.record, ...changes }, rawOffset: indexed.rawOffset, errorAt });
  }

  /**
   * A record as the index and the writes in flight have it; the error unread (`at`) or known
   * (`value`). `indexed`: its index row when the caller read it already.
   */
  private current(id: string, indexed: IndexedMessage | undefined = this.index!.get(id)): Current | undefined {
    const pending = this.pending.get(id);
    const base = indexed?.record ?? pending?.base;
    if (!base) return undefined;
    const { error, ...changes } = pending?.changes ?? {};
    const known = pending && 'error' in pending.changes ? { value: error } : indexed ? { at: indexed.errorAt } : { at: null };
    return { record: { ...base, ...changes }, error: known };
  }

  /** The record with its error read (from the journal when not in flight), as callers get it. */
  private async complete(current: Current): Promise<ArchivedMessage> {
    const error = 'value' in current.error ? current.error.value : current.error.at === null ? undefined : await this.errorAt(current.error.at);
    return structuredClone({ ...current.record, ...(error ? { error } : {}) });
  }

  /** The error held by the journal line at `offset` (sealed, or clear in an archive from before encryption). */
  private async errorAt(offset: number): Promise<ArchivedMessage['error']> {
    const line = (await this.journal.read(offset)) as Line;
    const id = line.op === 'received' ? line.record.id : line.id;
    if (line.jwe) return (await this.unseal(id, line.jwe)).error;
    return line.op === 'received' ? line.record.error : line.changes.error;
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

  /** Newest first, filtered; `text` reads the raw texts of the candidates (archive-list.ts). */
  async list(query: ListQuery): Promise<{ records: ArchivedMessage[]; next?: string }> {
    await this.rotating;
    return listMessages(query, { fresh: this.fresh().map(([id]) => id), page: (q, limit) => this.index!.list(q, limit), get: (id) => this.get(id), raw: (id) => this.raw(id) });
  }

  /** Messages received but not yet in the index, newest first: newer than every indexed one. */
  private fresh(): Array<[string, Pending]> {
    return [...this.pending].filter(([id, p]) => p.base && !this.index!.get(id)).sort((a, b) => b[1].order - a[1].order);
  }
}
