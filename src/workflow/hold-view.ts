import { VersionConflictError, type StorePort, type StoredRecord, type WriteOp } from '../store/port.js';
import { HOLDS_KEY } from './hold-index.js';

/**
 * The live bookings holding some hold keys (`hold-index.ts`), kept in this process from the
 * commits it makes, so that the overlap check of a booking (issue 17, bench "booking") reads a
 * map instead of asking the store (a planned query: ~13% of a booking's CPU, the largest cost
 * of the rules). A key is loaded from the store the first time it is asked for; from then on
 * every committed version of an Appointment or Slot updates it.
 *
 * Trusted only when it provably holds everything committed: the store's revision of both types
 * (`StorePort.revision`, counting every version committed) must equal the revision when the view
 * started plus the versions this process saw committed, with none of its own commits of these
 * types in flight; otherwise the check asks the store, as without the view. A write this process
 * did not see (another process on a shared store, `purge`) thus shows as a revision the view
 * cannot account for: it starts again, empty. So racing bookings still see each other (the check
 * runs under the practitioner's lock and reads what is committed), a restart starts empty, and
 * the HL7 SIU feed, committing through the same store, updates it as any write. Without
 * `StorePort.revision` (MongoDB) there is no view. Bounded: past MAX_KEYS keys it starts again.
 */
const TYPES = ['Appointment', 'Slot'] as const;
const MAX_KEYS = 20_000;

interface View {
  /** Revisions of TYPES less `applied` when the view (re)started; undefined until then. */
  base?: number[];
  /** Versions of TYPES this process saw committed. */
  applied: number[];
  /** Commits of TYPES handed to the store and not yet applied here. */
  inFlight: number;
  /** Counts the starts: what was loaded before one is not kept after it. */
  generation: number;
  /** Hold key → the live records holding it, by `Type/id`; a key absent is unknown (loaded on demand). */
  entries: Map<string, Map<string, StoredRecord>>;
  /** `Type/id` → the keys of `entries` it is in. */
  where: Map<string, string[]>;
}

const views = new WeakMap<StorePort, View>();

/** The store, observed: its commits of Appointments and Slots keep the hold view of the returned store. */
export function withHoldView(store: StorePort): StorePort {
  if (!store.revision) return store;
  const view: View = { applied: TYPES.map(() => 0), inFlight: 0, generation: 0, entries: new Map(), where: new Map() };
  const concerns = (writes: readonly WriteOp[]): boolean => writes.some((w) => (TYPES as readonly string[]).includes(w.record.resourceType));
  // Applied as soon as the store has applied them (visible to its reads), not when durable: a
  // check between the two would otherwise find the revision ahead and ask the store.
  const tracked = async <T>(writes: WriteOp[], run: () => Promise<T>): Promise<T> => {
    if (!concerns(writes)) return run();
    view.inFlight++;
    try {
      const result = await run();
      apply(view, writes);
      return result;
    } catch (err) {
      // A version conflict applies nothing (and counts nothing); past the write, the outcome is unknown: start again.
      if (!(err instanceof VersionConflictError)) restart(view);
      throw err;
    } finally {
      view.inFlight--;
    }
  };
  const commit: StorePort['commit'] = (writes) => tracked(writes, () => store.commit(writes));
  const stage: StorePort['stage'] = store.stage
    ? (writes) =>
        tracked(writes, async () => {
          const staged = await store.stage!(writes);
          // The store is unhealthy after a failed sync; whatever the view holds is not trusted again.
          staged.durable.catch(() => restart(view));
          return staged;
        })
    : undefined;
  const observed = new Proxy(store, {
    get(target, property) {
      if (property === 'commit') return commit;
      if (property === 'stage') return stage;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  views.set(observed, view);
  return observed;
}

/**
 * The live Appointments and Slots holding any of `keys`, as the store would answer `heldIn(keys)`
 * now; undefined when the view cannot vouch for that (no view, commits in flight, a revision it
 * cannot account for), and the caller asks the store.
 */
export async function heldInView(
  store: StorePort,
  keys: readonly string[],
  load: (missing: string[]) => Promise<StoredRecord[]>,
  widen: (key: string) => readonly string[] = (key) => [key],
): Promise<StoredRecord[] | undefined> {
  const view = views.get(store);
  if (!view || !(await trusted(store, view))) return undefined;
  if (view.entries.size > MAX_KEYS) restartAt(view, view.base!);
  const unknown = keys.filter((k) => !view.entries.has(k));
  if (unknown.length > 0) {
    // Loaded with its neighbours (`widen`), so the next bookings near it find them known.
    const missing = [...new Set(unknown.flatMap(widen))].filter((k) => !view.entries.has(k));
    const [applied, generation] = [view.applied.join(), view.generation];
    const loaded = await load(missing);
    // Kept only if nothing was committed meanwhile (it could be older than what the view applied)
    // and the view did not start again (a write past it, before or after the load).
    if ((await trusted(store, view)) !== 'kept' || view.applied.join() !== applied || view.generation !== generation) return undefined;
    for (const key of missing) view.entries.set(key, new Map());
    for (const record of loaded) place(view, record, missing);
  }
  const found = new Map<string, StoredRecord>();
  for (const key of keys) for (const [name, record] of view.entries.get(key) ?? []) found.set(name, record);
  return [...found.values()];
}

/** Whether the view holds every committed version now (see above); (re)starts it when it provably does not. */
async function trusted(store: StorePort, view: View): Promise<'kept' | 'restarted' | false> {
  if (view.inFlight > 0) return false;
  const applied = view.applied.join();
  const revisions = await Promise.all(TYPES.map((type) => store.revision!(type)));
  // A commit between the question and the answer: the revisions may count it or not.
  if (view.inFlight > 0 || view.applied.join() !== applied) return false;
  const expected = view.base?.map((b, i) => b + view.applied[i]);
  if (expected && expected.every((e, i) => e === revisions[i])) return 'kept';
  // Nothing of ours in flight, so every version the revisions count that we did not apply was
  // written past us: what the view holds may be stale. Empty again, it is complete (it knows no key).
  restartAt(
    view,
    revisions.map((r, i) => r - view.applied[i]),
  );
  return 'restarted';
}

function restart(view: View): void {
  view.generation++;
  view.base = undefined;
  view.entries.clear();
  view.where.clear();
}

function restartAt(view: View, base: number[]): void {
  restart(view);
  view.base = base;
}

/** Committed versions: each replaces what the view knew of its resource, in the keys it knew. */
function apply(view: View, writes: readonly WriteOp[]): void {
  for (const { record } of writes) {
    const i = (TYPES as readonly string[]).indexOf(record.resourceType);
    if (i < 0) continue;
    view.applied[i]++;
    if (view.base === undefined) continue;
    const name = `${record.resourceType}/${record.id}`;
    for (const key of view.where.get(name) ?? []) view.entries.get(key)?.delete(name);
    view.where.delete(name);
    place(view, record, undefined);
  }
}

/** Puts a live record in the known keys it holds (of `only`, when given). */
function place(view: View, record: StoredRecord, only: readonly string[] | undefined): void {
  if (record.deleted || !record.resource) return;
  const held = record.index?.[HOLDS_KEY];
  if (!Array.isArray(held)) {
    // Without keys (written while the rules were off): `unkeyed.ts` finds those in the store.
    return;
  }
  const name = `${record.resourceType}/${record.id}`;
  const where = view.where.get(name) ?? [];
  for (const key of held as string[]) {
    if (only && !only.includes(key)) continue;
    const entry = view.entries.get(key);
    if (!entry) continue;
    entry.set(name, record);
    if (!where.includes(key)) where.push(key);
  }
  if (where.length > 0) view.where.set(name, where);
}

const decoded = new WeakMap<StoredRecord, Promise<unknown>>();

/** `decode`, once per record the view keeps (they are the same objects from one booking to the next); read-only results. */
export function decodeOnce<T>(decode: (record: StoredRecord) => Promise<T>): (record: StoredRecord) => Promise<T> {
  return (record) => {
    let known = decoded.get(record) as Promise<T> | undefined;
    if (!known) {
      known = decode(record);
      decoded.set(record, known);
      known.catch(() => decoded.delete(record));
    }
    return known;
  };
}
