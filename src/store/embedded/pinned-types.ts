import type { Filter } from '../port.js';

/**
 * The resource types a query filter pins (`resourceType` as a value or `$in`, at the top or in a
 * top-level `$and`); undefined when any type may match. Lets the store skip per-type work
 * (unindexed keys, deferred rows) for types a query cannot reach.
 */
export function pinnedTypes(filter: Filter): Set<string> | undefined {
  const conjuncts = [filter, ...(Array.isArray(filter.$and) ? (filter.$and as Filter[]) : [])];
  let pinned: Set<string> | undefined;
  for (const part of conjuncts) {
    const value = part.resourceType as unknown;
    const types = typeof value === 'string' ? [value] : isIn(value) ? value.$in.filter((v): v is string => typeof v === 'string') : undefined;
    if (!types) continue;
    pinned = pinned ? new Set(types.filter((t) => pinned!.has(t))) : new Set(types);
  }
  return pinned;
}

function isIn(value: unknown): value is { $in: unknown[] } {
  return typeof value === 'object' && value !== null && Object.keys(value).length === 1 && Array.isArray((value as { $in?: unknown }).$in);
}
