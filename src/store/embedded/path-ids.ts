import type { Database, Statement } from 'better-sqlite3';

/**
 * The ids of the value tables' paths (schema.ts `paths`), one per resource type and path: a
 * value row's `pid` names its resource's type as well as the path, as MongoDB's compound
 * wildcard index `{ resourceType, 'index.$**' }` puts the type first. A search pinned to a type
 * then reads only that type's rows: `MedicationRequest?patient=X` used to read every row holding
 * `Patient/X` at `index.patient.r`, the AuditEvents of every read of X's record included, and
 * with a few thousand of those (a chart opened all day) it judged the patient's driver too broad
 * and scanned every prescription instead: 320 ms per search at 100k patients (issue 13).
 */

/** The ids of a path among the types a query may match; empty when no record of them has a value there. */
export type PathIds = (path: string) => readonly number[];

/** The ids of a top-level key's value paths among those types: `index.k` itself and every `index.k.<...>` (not its presence path). */
export type KeyPathIds = (path: string) => readonly number[];

/** Path lookups narrowed to the types a query may match (`PathCatalog.scope`). */
export interface PathScope {
  pathIds: PathIds;
  keyPathIds: KeyPathIds;
}

/** Hands out scopes; what the query side needs of a catalog (tests build their own). */
export interface PathScopes {
  scope(types: ReadonlySet<string> | undefined): PathScope;
}

const NONE: readonly number[] = [];

export class PathCatalog implements PathScopes {
  /** pid by type, then path. */
  readonly #byType = new Map<string, Map<string, number>>();
  /** pids of each path over every type: the lookups of a query not pinned to types. */
  readonly #byPath = new Map<string, number[]>();
  /** Scopes by their types' key, dropped when a path is added. */
  #scopes = new Map<string, PathScope>();
  readonly #insert: Statement;

  constructor(private readonly db: Database) {
    this.#insert = db.prepare('INSERT INTO paths (type, path) VALUES (?, ?)');
    for (const { pid, type, path } of db.prepare('SELECT pid, type, path FROM paths ORDER BY pid').all() as Array<{ pid: number; type: string; path: string }>) this.#add(type, path, pid);
  }

  /** The id of a type's path, if a record of that type has ever had a value there. */
  get(type: string, path: string): number | undefined {
    return this.#byType.get(type)?.get(path);
  }

  /**
   * Gives the new paths of these records' value rows their ids, in a transaction of their own
   * before the commit: an id must never be handed out by a transaction that then rolls back.
   */
  register(records: ReadonlyArray<{ type: string; rows: ReadonlyArray<{ path: string }> }>): void {
    const fresh: Array<[string, string]> = [];
    const seen = new Set<string>();
    for (const { type, rows } of records) {
      const known = this.#byType.get(type);
      for (const { path } of rows) {
        if (known?.has(path)) continue;
        const key = `${type}\n${path}`;
        if (seen.has(key)) continue;
        seen.add(key);
        fresh.push([type, path]);
      }
    }
    if (fresh.length === 0) return;
    const ids = this.db.transaction(() => fresh.map(([type, path]) => Number(this.#insert.run(type, path).lastInsertRowid)))();
    fresh.forEach(([type, path], i) => this.#add(type, path, ids[i]));
    this.#scopes = new Map();
  }

  /** Lookups over the rows of these types (all types when undefined: the query may match any). */
  scope(types: ReadonlySet<string> | undefined): PathScope {
    const key = types === undefined ? '' : [...types].sort().join(' ') || ' ';
    let scope = this.#scopes.get(key);
    if (!scope) {
      // Keys are type sets of queries (`_type` lists among them): bounded all the same.
      if (this.#scopes.size >= 256) this.#scopes = new Map();
      scope = this.#makeScope(types);
      this.#scopes.set(key, scope);
    }
    return scope;
  }

  #makeScope(types: ReadonlySet<string> | undefined): PathScope {
    const maps = types === undefined ? undefined : [...types].map((t) => this.#byType.get(t)).filter((m): m is Map<string, number> => m !== undefined);
    const pathIds = (path: string): readonly number[] => {
      if (!maps) return this.#byPath.get(path) ?? NONE;
      const ids: number[] = [];
      for (const map of maps) {
        const pid = map.get(path);
        if (pid !== undefined) ids.push(pid);
      }
      return ids;
    };
    const keyPaths = new Map<string, readonly number[]>();
    const keyPathIds = (path: string): readonly number[] => {
      let ids = keyPaths.get(path);
      if (!ids) {
        const below = `${path}.`;
        ids = [];
        for (const map of maps ?? this.#byType.values()) for (const [p, pid] of map) if (p === path || p.startsWith(below)) (ids as number[]).push(pid);
        keyPaths.set(path, ids);
      }
      return ids;
    };
    return { pathIds, keyPathIds };
  }

  #add(type: string, path: string, pid: number): void {
    let map = this.#byType.get(type);
    if (!map) this.#byType.set(type, (map = new Map()));
    map.set(path, pid);
    const all = this.#byPath.get(path);
    if (all) all.push(pid);
    else this.#byPath.set(path, [pid]);
  }
}

/** `pid = 3` or `pid IN (3, 8)`: the ids are the store's own integers, written into the SQL so parameters keep their order. */
export function pidIn(column: string, pids: readonly number[]): string {
  return pids.length === 1 ? `${column} = ${Number(pids[0])}` : `${column} IN (${pids.map(Number).join(', ')})`;
}
