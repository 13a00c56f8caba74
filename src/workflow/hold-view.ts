import type { StorePort, StoredRecord } from '../store/port.js';
import { CommitView, deepFreeze } from './commit-view.js';
import { HOLDS_KEY } from './hold-index.js';

/**
 * The live bookings holding some hold keys (`hold-index.ts`), kept in this process from the
 * commits it makes (`commit-view.ts`: trusted only while it provably holds everything committed),
 * so that the overlap check of a booking (issue 17, bench "booking") reads a map instead of asking
 * the store (a planned query: ~13% of a booking's CPU, the largest cost of the rules). A key is
 * loaded from the store the first time it is asked for; from then on every committed version of
 * an Appointment or Slot updates it. Racing bookings still see each other (the check runs under
 * the practitioner's lock and reads what is committed), and the HL7 SIU feed, committing through
 * the same store, updates it as any write. A Slot keeps its hours whatever its status, so a day
 * loaded holds its free slots too: the booking's read of its slot is answered here (`current`).
 * Bounded: past MAX_KEYS keys or MAX_RECORDS records it starts again.
 */
const MAX_KEYS = 20_000;
const MAX_RECORDS = 100_000;

export class HoldView extends CommitView {
  /** Hold key → the live records holding it, by `Type/id`; a key absent is unknown (loaded on demand). */
  readonly #entries = new Map<string, Map<string, StoredRecord>>();
  /** `Type/id` → the keys of `entries` it is in. */
  readonly #where = new Map<string, string[]>();

  constructor() {
    super(['Appointment', 'Slot']);
  }

  /**
   * The live Appointments and Slots holding any of `keys`, as the store would answer `heldIn(keys)`
   * now; undefined when the view cannot vouch for that (commits in flight, a revision it cannot
   * account for), and the caller asks the store. Unknown keys are loaded with their neighbours (`widen`).
   */
  async heldIn(store: StorePort, keys: readonly string[], load: (missing: string[]) => Promise<StoredRecord[]>, widen: (key: string) => readonly string[]): Promise<StoredRecord[] | undefined> {
    if (!(await this.trusted(store))) return undefined;
    if (this.#entries.size > MAX_KEYS || this.#where.size > MAX_RECORDS) this.empty();
    const unknown = keys.filter((k) => !this.#entries.has(k));
    if (unknown.length > 0) {
      const missing = [...new Set(unknown.flatMap(widen))].filter((k) => !this.#entries.has(k));
      const mark = this.mark();
      const loaded = await load(missing);
      // Kept only if nothing was committed meanwhile (it could be older than what the view applied).
      if (!(await this.unchangedSince(store, mark))) return undefined;
      for (const key of missing) this.#entries.set(key, new Map());
      for (const record of loaded) this.#place(record, missing);
    }
    const found = new Map<string, StoredRecord>();
    for (const key of keys) for (const [name, record] of this.#entries.get(key) ?? []) found.set(name, record);
    return [...found.values()];
  }

  /**
   * The current record of `type/id` when the view holds it (it is in a loaded key) and can vouch
   * for it; else undefined, and the caller reads the store. Every committed version of a record the
   * view holds replaces it or, holding no loaded key (deleted, moved to another day), removes it.
   */
  async current(store: StorePort, type: string, id: string): Promise<StoredRecord | undefined> {
    if (!this.types.includes(type)) return undefined;
    const name = `${type}/${id}`;
    const key = this.#where.get(name)?.[0];
    if (key === undefined || !(await this.trusted(store))) return undefined;
    // Asked again: the view may have started again (emptied) while it asked the store's revisions.
    return this.#entries.get(this.#where.get(name)?.[0] ?? '')?.get(name);
  }

  /** A committed version replaces what the view knew of its resource, in the keys it knew. */
  protected applyRecord(record: StoredRecord): void {
    const name = `${record.resourceType}/${record.id}`;
    for (const key of this.#where.get(name) ?? []) this.#entries.get(key)?.delete(name);
    this.#where.delete(name);
    this.#place(record, undefined);
  }

  protected clear(): void {
    this.#entries.clear();
    this.#where.clear();
  }

  /** Puts a live record in the known keys it holds (of `only`, when given). */
  #place(record: StoredRecord, only: readonly string[] | undefined): void {
    const held = record.deleted || !record.resource ? undefined : record.index?.[HOLDS_KEY];
    // Without keys (written while the rules were off), it holds nothing here: `unkeyed.ts` finds those in the store.
    if (!Array.isArray(held)) return;
    const name = `${record.resourceType}/${record.id}`;
    const where = this.#where.get(name) ?? [];
    for (const key of held as string[]) {
      const entry = only && !only.includes(key) ? undefined : this.#entries.get(key);
      if (!entry) continue;
      entry.set(name, deepFreeze(record));
      if (!where.includes(key)) where.push(key);
    }
    if (where.length > 0) this.#where.set(name, where);
  }
}

const decoded = new WeakMap<StoredRecord, Promise<unknown>>();

/** `decode`, once per record a view keeps (they are the same objects from one request to the next); read-only results. */
export function decodeOnce<T>(decode: (record: StoredRecord) => Promise<T>): (record: StoredRecord) => Promise<T> {
  return (record) => {
    let known = decoded.get(record) as Promise<T> | undefined;
    if (!known) {
      // Frozen: shared by every request that reads the record, a change by one would be seen by all.
      known = decode(record).then(deepFreeze);
      decoded.set(record, known);
      known.catch(() => decoded.delete(record));
    }
    return known;
  };
}
