/**
 * In-process mutual exclusion by key, used to serialize conditional creates on the same criteria:
 * the search for a match and the commit of the new resource must not interleave with another
 * request doing the same, or both would find nothing and both would create.
 *
 * This holds within one process, which is what the embedded (single-writer) store allows. Several
 * processes sharing MongoDB need the database to decide (see README, "Conditional interactions").
 */
export interface KeyedLocks {
  /**
   * Waits until every key is free, takes them all and resolves with the function releasing them.
   * Keys are taken in sorted order, so callers holding several keys at once cannot deadlock.
   */
  acquire(keys: readonly string[]): Promise<() => void>;
}

export function createKeyedLocks(): KeyedLocks {
  // The tail of each key's queue: the promise the next taker waits for.
  const tails = new Map<string, Promise<void>>();

  async function take(key: string): Promise<() => void> {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    tails.set(key, tail);
    await previous;
    return () => {
      release();
      // Nobody queued behind us: forget the key, so the map does not grow with every criteria ever used.
      if (tails.get(key) === tail) tails.delete(key);
    };
  }

  return {
    async acquire(keys) {
      const releases: Array<() => void> = [];
      for (const key of [...new Set(keys)].sort()) releases.push(await take(key));
      let released = false;
      return () => {
        if (released) return;
        released = true;
        for (const release of releases.reverse()) release();
      };
    },
  };
}
