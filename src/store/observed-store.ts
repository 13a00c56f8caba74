import type { StorePort, WriteOp } from './port.js';

/**
 * Runs `durably(writes)` (which resolves once the writes are on disk) inside `around`, for both ways
 * a commit reaches the store: `commit`, and `stage` (group-commit pipelining, issue 14), whose writes
 * are durable when its `durable` resolves. Decorators that must see every commit (metrics' commit
 * latency, Subscriptions' post-commit matching) wrap the store with this, so neither misses the
 * audit chain's staged commits.
 */
export function observeCommits(store: StorePort, around: (writes: WriteOp[], durably: () => Promise<void>) => Promise<void>): StorePort {
  const commit: StorePort['commit'] = (writes) => around(writes, () => store.commit(writes));
  const stage: StorePort['stage'] = store.stage
    ? async (writes) => {
        const staged = await store.stage!(writes);
        return { durable: around(writes, () => staged.durable) };
      }
    : undefined;
  return withCommitMethods(store, { commit, stage });
}

/** The store methods a commit observer may replace. */
export type CommitMethods = Partial<Pick<StorePort, 'commit' | 'stage' | 'rewrite'>>;

/** The store with some of its commit methods replaced: the one decorator shape of every commit observer. */
export function withCommitMethods(store: StorePort, methods: CommitMethods): StorePort {
  // Bound once per method: every store call of every request goes through each decorator's Proxy.
  const bound = new Map<PropertyKey, { of: unknown; fn: unknown }>();
  return new Proxy(store, {
    get(target, property) {
      // Given, even as undefined (no `stage` when the store has none), it replaces the store's own.
      if (Object.hasOwn(methods, property)) return methods[property as keyof CommitMethods];
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // Adapters are classes with private fields: their methods must run with the adapter as `this`.
      const known = bound.get(property);
      if (known?.of === value) return known.fn;
      const fn = value.bind(target);
      bound.set(property, { of: value, fn });
      return fn;
    },
  });
}
