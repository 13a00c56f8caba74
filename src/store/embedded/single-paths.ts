import type { StatementCache } from './statement-cache.js';
import type { ValueRow } from './value-rows.js';

/**
 * Paths no resource holds two values of (a search parameter's sort key: one scalar per resource),
 * for the walks that start at a bound (sort-walk.ts) and count a path's resources by its rows.
 * Found once per path by a distinct count over its rows (~8 ms for 20k rows, ~0.4 s for 1M), then
 * kept, and taken back the moment a write gives a resource two rows of it (`note`, called with every
 * resource's rows as they are written). Per open store: a restart counts again.
 */
export class SinglePaths {
  /** Path ids found single (true) or not (false); absent: not counted yet. */
  readonly #known = new Map<number, boolean>();
  #anySingle = false;

  /** Whether no resource has two rows of `pid`. */
  single(statements: StatementCache, pid: number): boolean {
    let single = this.#known.get(pid);
    if (single === undefined) {
      const rows = statements.get('SELECT count(*) FROM search_values WHERE pid = ?').pluck().get(pid) as number;
      const resources = statements.get('SELECT count(DISTINCT rid) FROM search_values WHERE pid = ?').pluck().get(pid) as number;
      single = rows === resources;
      this.#known.set(pid, single);
      this.#anySingle ||= single;
    }
    return single;
  }

  /** One resource's rows, as its current version now has them: a path found single that they hold twice is single no longer. */
  note(rows: readonly ValueRow[]): void {
    if (!this.#anySingle) return;
    let seen: Set<number> | undefined;
    for (const { pid } of rows) {
      if (this.#known.get(pid) !== true) continue;
      seen ??= new Set();
      if (seen.has(pid)) this.#known.set(pid, false);
      else seen.add(pid);
    }
  }
}
