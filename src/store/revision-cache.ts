import { LRUCache } from 'lru-cache';
import { revisionOf, type StorePort } from './port.js';

/**
 * What was decoded from one resource type's records, kept until a record of that type is written.
 * Every `view()` first asks the store for the type's revision (`StorePort.revision`: a counter in
 * the embedded store, a count on MongoDB, so another instance's write counts too); a changed
 * revision drops all that was kept, which is how a revoked Consent or an ended PractitionerRole
 * takes effect on the very next request. Entries are bounded (least recently used go first), so
 * memory does not grow with the number of patients or users served.
 */
export interface RevisionCache<V extends object> {
  view(): Promise<RevisionView<V>>;
}

/** The cache at one revision. */
export interface RevisionView<V extends object> {
  readonly revision: number;
  /** The values of `keys`, loading the missing ones in one call; `load` answers only the keys it found (the rest get `absent`). */
  getMany(keys: readonly string[], load: (missing: string[]) => Promise<Map<string, V>>, absent: V): Promise<Map<string, V>>;
  /** One value for the whole type at this revision (e.g. every record), loaded once. */
  whole<W>(load: () => Promise<W>): Promise<W>;
  /** That value if `whole` was asked for at this revision, else undefined. */
  wholeIfKept<W>(): Promise<W> | undefined;
}

export function createRevisionCache<V extends object>(store: StorePort, resourceType: string, max: number): RevisionCache<V> {
  let kept: { revision: number; view: RevisionView<V> } | undefined;

  function viewAt(revision: number): RevisionView<V> {
    const entries = new LRUCache<string, Promise<V>>({ max });
    let whole: Promise<unknown> | undefined;
    return {
      revision,
      async getMany(keys: readonly string[], load: (missing: string[]) => Promise<Map<string, V>>, absent: V): Promise<Map<string, V>> {
        const valueOf = (found: Map<string, V>, k: string): V => found.get(k) ?? absent;
        const missing = keys.filter((k) => !entries.has(k));
        if (missing.length > 0) {
          const loading = load(missing);
          for (const k of missing) {
            const value: Promise<V> = loading.then((found) => valueOf(found, k));
            entries.set(k, value);
            value.catch(() => {}); // reported once, to this caller, below
          }
          // A failed load must not be kept: the next request tries again.
          loading.catch(() => missing.forEach((k) => entries.delete(k)));
        }
        const found = new Map<string, V>();
        // An entry evicted while loading (more keys than `max`) is loaded again by itself.
        for (const k of keys) found.set(k, await (entries.get(k) ?? load([k]).then((m) => valueOf(m, k))));
        return found;
      },
      whole<W>(load: () => Promise<W>): Promise<W> {
        if (!whole) {
          const loading = load();
          whole = loading;
          loading.catch(() => (whole = undefined));
        }
        return whole as Promise<W>;
      },
      wholeIfKept<W>(): Promise<W> | undefined {
        return whole as Promise<W> | undefined;
      },
    };
  }

  return {
    async view() {
      // Read the revision before any record: what is kept is never older than its revision says.
      const revision = await revisionOf(store, resourceType);
      if (kept?.revision !== revision) kept = { revision, view: viewAt(revision) };
      return kept.view;
    },
  };
}
