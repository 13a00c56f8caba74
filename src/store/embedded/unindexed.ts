import type { Database } from 'better-sqlite3';
import type { Filter } from '../port.js';
import { pinnedTypes } from './pinned-types.js';

/**
 * Keys of `record.index` the embedded store leaves out of `search_values` for some resource types
 * (issue 14): the record keeps them, queries on them are widened to every record of those types
 * and re-checked on the record itself (sql-filter.ts), sorts on them are done in memory
 * (query.ts). Meant for values written often and queried rarely: the sort scalars of the
 * AuditEvent written for every request cost a third of its rows.
 *
 * The keys a database was written without are kept in its `meta` table, so every later opener
 * (the CLIs, a server configured otherwise) widens its queries on them too: records written
 * without their rows never get them back, whatever the configuration says now.
 */
export type UnindexedKeys = Readonly<Record<string, readonly string[]>>;

const META_KEY = 'unindexed';

/** What queries must widen: the keys configured now plus those any earlier opener configured. */
export function persistUnindexed(db: Database, configured: UnindexedKeys): UnindexedKeys {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(META_KEY) as string | undefined;
  const stored = row ? (JSON.parse(row) as Record<string, string[]>) : {};
  const union: Record<string, string[]> = { ...stored };
  for (const [type, keys] of Object.entries(configured)) union[type] = [...new Set([...(union[type] ?? []), ...keys])].sort();
  const text = JSON.stringify(union);
  if (text !== row && Object.keys(union).length > 0) db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(META_KEY, text);
  return union;
}

/** The types (of those a query can match) whose records lack value rows of an `index.<key>...` path. */
export type LackingTypes = (path: string) => readonly string[];

/** Lookup of the types lacking a key's rows, narrowed to the types a filter pins (`resourceType` at the top or in a top-level `$and`). */
export function lackingTypes(unindexed: UnindexedKeys, filter: Filter): LackingTypes {
  const byKey = typesByKey(unindexed);
  if (byKey.size === 0) return () => [];
  const pinned = pinnedTypes(filter);
  return (path) => {
    if (!path.startsWith('index.')) return [];
    const dot = path.indexOf('.', 6);
    const types = byKey.get(dot < 0 ? path.slice(6) : path.slice(6, dot)) ?? [];
    return pinned ? types.filter((t) => pinned.has(t)) : types;
  };
}

/** The unindexed keys by key, built once per store (they are fixed when it opens): every query asks (issue 13). */
const byKeyCache = new WeakMap<UnindexedKeys, Map<string, string[]>>();

function typesByKey(unindexed: UnindexedKeys): Map<string, string[]> {
  let byKey = byKeyCache.get(unindexed);
  if (byKey) return byKey;
  byKey = new Map<string, string[]>();
  for (const [type, keys] of Object.entries(unindexed)) for (const key of keys) byKey.set(key, [...(byKey.get(key) ?? []), type]);
  byKeyCache.set(unindexed, byKey);
  return byKey;
}
