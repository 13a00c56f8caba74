/**
 * A small seeded pseudo-random generator for the benchmark data (no dependency, not for anything
 * secret). Each record draws from its own stream, keyed by the seed and the record's index, so
 * patient 7,123 is the same whether 10,000 or 100,000 patients are generated, and in any order.
 */
export class Random {
  #state: number;

  constructor(state: number) {
    // xorshift32 is stuck at zero; any other 32-bit state works.
    this.#state = state >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    // Marsaglia's xorshift32 (shifts 13, 17, 5): a full 2^32 - 1 period, plenty for a few draws per record.
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state / 0x1_0000_0000;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Picks by weight: `weighted([['a', 3], ['b', 1]])` is 'a' three times in four. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    const total = choices.reduce((sum, [, w]) => sum + w, 0);
    let at = this.next() * total;
    for (const [value, weight] of choices) {
      at -= weight;
      if (at < 0) return value;
    }
    return choices[choices.length - 1][0];
  }
}

/** The stream of one record: `randomFor(seed, 'patient', 7123)`. */
export function randomFor(seed: number, ...key: Array<string | number>): Random {
  const random = new Random(hash32(`${seed}:${key.join(':')}`));
  // The first outputs of a freshly hashed state are still correlated with it; discard a few.
  for (let i = 0; i < 4; i++) random.next();
  return random;
}

/** FNV-1a over the string's UTF-16 units, then a multiply-xorshift finaliser to spread similar keys apart. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
