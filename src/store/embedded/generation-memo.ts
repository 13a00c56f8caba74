/**
 * Figures counted from the store (how many records a type has, what the rows of a path are), each
 * kept until the next write of the type it counts: the open store's revision of that type
 * (`generation`, open-store.ts) changes with every commit and purge of it, and nothing else changes
 * what these count. A rewrite of stored versions (key rotation) changes no revision: `reset`.
 * Without a generation (tests, another opener) nothing is kept.
 */
export class GenerationMemo {
  readonly #known = new Map<string, { generation: number; value: unknown }>();

  constructor(private readonly generation: (type: string) => number = () => Number.NaN) {}

  /** The value of `key` for `type`, computed by `count` unless kept at the type's current generation. */
  get<V>(type: string, key: string, count: () => V): V {
    const id = `${type}\u0000${key}`;
    const generation = this.generation(type);
    const known = this.#known.get(id);
    if (known && known.generation === generation) return known.value as V;
    const value = count();
    if (!Number.isNaN(generation)) this.#known.set(id, { generation, value });
    return value;
  }

  reset(): void {
    this.#known.clear();
  }
}
