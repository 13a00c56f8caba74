import type { StorePort, StoredRecord } from '../store/port.js';
import { CommitView, deepFreeze } from './commit-view.js';

/** Prescriptions kept at most; past that the view starts again. */
const MAX_RECORDS = 10_000;

/** Resources (as stored) of the versions the rules derive: no one else holds them (`deriveWrite`). */
const derived = new WeakSet<object>();

/** Notes a derived version's stored resource: once committed, the view may keep its record. */
export function noteDerived(record: StoredRecord): void {
  if (record.resource) derived.add(record.resource);
}

/**
 * The current records of prescriptions, kept in this process from the commits it makes
 * (`commit-view.ts`: trusted only while it provably holds everything committed), so that a
 * dispense (issue 17, bench "dispense") reads its prescription from memory: every dispense
 * writes the prescription's next version (its running total, `dispense-tally.ts`), which is
 * what the next dispense of it reads. Kept: records read from the store (objects this view
 * owns) and the versions the rules derive; any other committed version only drops what was kept.
 * What is kept is shared between requests: the rules only read it.
 */
export class RecordView extends CommitView {
  readonly #records = new Map<string, StoredRecord>();

  constructor() {
    super(['MedicationRequest']);
  }

  /** The current record of `type/id`: from the view when it can vouch for it, else `read` (from the store), kept when it may be. */
  async current(store: StorePort, type: string, id: string, read: () => Promise<StoredRecord | undefined>): Promise<StoredRecord | undefined> {
    if (!this.types.includes(type) || !(await this.trusted(store))) return read();
    const name = `${type}/${id}`;
    const known = this.#records.get(name);
    if (known) return known;
    const mark = this.mark();
    const record = await read();
    if (record && !record.deleted && (await this.unchangedSince(store, mark))) this.#keep(name, record);
    return record;
  }

  protected applyRecord(record: StoredRecord): void {
    const name = `${record.resourceType}/${record.id}`;
    this.#records.delete(name);
    if (!record.deleted && record.resource && derived.has(record.resource)) this.#keep(name, record);
  }

  protected clear(): void {
    this.#records.clear();
  }

  #keep(name: string, record: StoredRecord): void {
    if (this.#records.size >= MAX_RECORDS) this.empty();
    // Frozen: shared by the requests that read it (and it is the committed version itself).
    this.#records.set(name, deepFreeze(record));
  }
}
