import type { Database, Statement } from 'better-sqlite3';

/**
 * Prepared statements by SQL text. Queries are generated from the shape of a filter, and
 * values are always parameters, so the set of texts is small; the cache is bounded all the same
 * (least recently used out).
 */
export class StatementCache {
  readonly #statements = new Map<string, Statement>();

  constructor(
    private readonly db: Database,
    private readonly capacity = 500,
  ) {}

  get(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement) {
      this.#statements.delete(sql);
    } else {
      statement = this.db.prepare(sql);
      if (this.#statements.size >= this.capacity) this.#statements.delete(this.#statements.keys().next().value!);
    }
    this.#statements.set(sql, statement);
    return statement;
  }
}
