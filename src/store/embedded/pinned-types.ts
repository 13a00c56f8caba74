import type { Filter } from '../port.js';

/**
 * The resource types a query filter pins (`resourceType` as a value or `$in`, at the top or in an
 * `$and` of `$and`s); undefined when any type may match. Lets the store skip per-type work
 * (unindexed keys, deferred rows, other types' path ids) for types a query cannot reach. A keyset
 * page past the first nests the search's filter in an `$and` with its position (src/search/keyset.ts).
 */
export function pinnedTypes(filter: Filter): Set<string> | undefined {
  let pinned: Set<string> | undefined;
  for (const part of conjunctsOf(filter)) {
    const value = part.resourceType as unknown;
    const types = typeof value === 'string' ? [value] : isIn(value) ? value.$in.filter((v): v is string => typeof v === 'string') : undefined;
    if (!types) continue;
    pinned = pinned ? new Set(types.filter((t) => pinned!.has(t))) : new Set(types);
  }
  return pinned;
}

/** The type of a filter that asks for every live record of one type (`{ resourceType, deleted: false }`, in `$and`s or not), else undefined. */
export function everyLive(filter: Filter): string | undefined {
  let type: string | undefined;
  let live = false;
  for (const part of conjunctsOf(filter)) {
    for (const [key, value] of Object.entries(part)) {
      if (key === '$and' && Array.isArray(value) && value.every((v) => typeof v === 'object' && v !== null)) continue;
      if (key === 'deleted' && value === false) live = true;
      else if (key === 'resourceType' && typeof value === 'string' && (type === undefined || type === value)) type = value;
      else return undefined;
    }
  }
  return live ? type : undefined;
}

/** The filter and every conjunct of its `$and`s, at any depth. */
function conjunctsOf(filter: Filter): Filter[] {
  const nested = Array.isArray(filter.$and) ? (filter.$and as Filter[]).filter((f) => typeof f === 'object' && f !== null).flatMap(conjunctsOf) : [];
  return [filter, ...nested];
}

function isIn(value: unknown): value is { $in: unknown[] } {
  return typeof value === 'object' && value !== null && Object.keys(value).length === 1 && Array.isArray((value as { $in?: unknown }).$in);
}
