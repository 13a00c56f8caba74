import { withCommitMethods } from '../store/observed-store.js';
import { VersionConflictError, type StorePort, type StoredRecord, type WriteOp } from '../store/port.js';

/**
 * What this process knows of the committed versions of some types, kept from the commits it
 * makes (`hold-view.ts`, `record-view.ts`): the rules (issue 17) read it instead of the store.
 *
 * Trusted only when it provably holds everything committed: the store's revision of each type
 * (`StorePort.revision`, counting every version committed) must equal the revision when the view
 * started plus the versions this process saw committed, with none of its own commits of these
 * types in flight; otherwise the rule asks the store, as without a view. A write this process did
 * not see (another process on a shared store, `purge`) shows as a revision the view cannot account
 * for: it starts again, empty. A restart starts empty. Without `StorePort.revision` (MongoDB) no
 * view is kept.
 */
export abstract class CommitView {
  /** Revisions of `types` less `applied` when the view (re)started; undefined until then. */
  #base?: number[];
  /** Versions of `types` this process saw committed. */
  readonly #applied: number[];
  /** Commits of `types` handed to the store and not yet applied here. */
  #inFlight = 0;
  /** Counts the starts: what was read from the store before one is not kept after it. */
  #generation = 0;

  constructor(readonly types: readonly string[]) {
    this.#applied = types.map(() => 0);
  }

  /** A committed version of one of `types`, while the view is started. */
  protected abstract applyRecord(record: StoredRecord): void;
  /** Forgets everything (the view starts again). */
  protected abstract clear(): void;

  concerns(writes: readonly WriteOp[]): boolean {
    return writes.some((w) => this.types.includes(w.record.resourceType));
  }

  /** Runs a commit of `writes` (applied to the store when `run` resolves) and applies it here. */
  async track<T>(writes: readonly WriteOp[], run: () => Promise<T>): Promise<T> {
    if (!this.concerns(writes)) return run();
    this.#inFlight++;
    try {
      const result = await run();
      for (const { record } of writes) {
        const i = this.types.indexOf(record.resourceType);
        if (i < 0) continue;
        this.#applied[i]++;
        if (this.#base !== undefined) this.applyRecord(record);
      }
      return result;
    } catch (err) {
      // A version conflict applies nothing (and counts nothing); past the write, the outcome is unknown: start again.
      if (!(err instanceof VersionConflictError)) this.restart();
      throw err;
    } finally {
      this.#inFlight--;
    }
  }

  /** Whether the view holds every committed version now; (re)starts it, empty, when it provably does not. */
  async trusted(store: StorePort): Promise<'kept' | 'restarted' | false> {
    if (this.#inFlight > 0 || !store.revision) return false;
    const applied = this.#applied.join();
    const revisions = await Promise.all(this.types.map((type) => store.revision!(type)));
    // A commit between the question and the answer: the revisions may count it or not.
    if (this.#inFlight > 0 || this.#applied.join() !== applied) return false;
    const expected = this.#base?.map((b, i) => b + this.#applied[i]);
    if (expected && expected.every((e, i) => e === revisions[i])) return 'kept';
    // Nothing of ours in flight: every version the revisions count that we did not apply was written past us.
    this.restart(revisions.map((r, i) => r - this.#applied[i]));
    return 'restarted';
  }

  /** A mark to tell, after reading the store, whether what was read may be kept (`unchangedSince`). */
  mark(): string {
    return `${this.#generation}|${this.#applied.join()}`;
  }

  /** Whether nothing was committed and the view did not start again since `mark`, and it is trusted now. */
  async unchangedSince(store: StorePort, mark: string): Promise<boolean> {
    return (await this.trusted(store)) === 'kept' && this.mark() === mark;
  }

  /** Starts again, empty: at `base` when known, else at the next `trusted`. */
  restart(base?: number[]): void {
    this.#generation++;
    this.#base = base;
    this.clear();
  }

  /** Starts again at the same base (to bound memory). */
  empty(): void {
    this.restart(this.#base);
  }
}

/** Freezes a JSON value and everything in it; returns it. What a view keeps is shared by every request that reads it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  // Without the array `Object.values` would allocate per object: a booking freezes some 50 (its appointment's record).
  if (Array.isArray(value)) for (const item of value) deepFreeze(item);
  else for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
  return Object.freeze(value);
}

/** The store, observed: its commits (and stages, as soon as applied) keep `views`. */
export function observedBy(store: StorePort, views: readonly CommitView[]): StorePort {
  if (!store.revision || views.length === 0) return store;
  const tracked = <T>(writes: readonly WriteOp[], run: () => Promise<T>): Promise<T> => views.reduce<() => Promise<T>>((inner, view) => () => view.track(writes, inner), run)();
  const commit: StorePort['commit'] = (writes) => tracked(writes, () => store.commit(writes));
  // Applied as soon as the store has applied them (visible to its reads), not when durable: a
  // rule between the two would otherwise find the revision ahead and ask the store.
  const stage: StorePort['stage'] = store.stage
    ? (writes) =>
        tracked(writes, async () => {
          const staged = await store.stage!(writes);
          // After a failed sync the store is unhealthy and the outcome unknown: the views start again.
          staged.durable.catch(() => views.forEach((v) => v.restart()));
          return staged;
        })
    : undefined;
  // A rewrite (key rotation) changes the stored form of versions without a new revision: what a view
  // kept of them (ciphertext under a retiring key, a stale blind index) is dropped once it is done.
  const rewrite: StorePort['rewrite'] = async (records) => {
    try {
      await store.rewrite!(records);
    } finally {
      for (const view of views) if (records.some((r) => view.types.includes(r.resourceType))) view.restart();
    }
  };
  return withCommitMethods(store, { commit, stage, ...(store.rewrite ? { rewrite } : {}) });
}
