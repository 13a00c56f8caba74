import { indexKey, sortKey } from '../../search/index/fields.js';
import type { CollectionName } from '../port.js';

/**
 * The indexes FhirGate keeps, derived at start from the search-parameter registry: a pure
 * function of the served parameters, so the plan is tested without a server and is the same
 * on every start (creating it again is a no-op).
 *
 * MongoDB allows 64 indexes per collection, far fewer than the parameters served (about 90
 * distinct codes for seven types), so predicates and sorts are covered differently:
 *
 * - Predicates on any parameter: one compound wildcard index `{ resourceType, 'index.$**' }`
 *   (MongoDB 7.0+). It covers every entry field of every parameter (`index.family.f`,
 *   `index.subject.r`, `index.birthdate.lo`, ...), custom SearchParameters included, with the
 *   type as its equality prefix. Layout of the entries: `src/search/index/fields.ts`.
 * - Reads and paging by record fields: `{ resourceType, id }` (unique), `{ resourceType,
 *   deleted, id }` (the default search order), `{ resourceType, deleted, lastUpdated, id }`
 *   both ways (`_lastUpdated`, `_sort=_lastUpdated`), and in history `{ resourceType, id,
 *   versionId }` (unique: vread, instance history) and `{ resourceType, lastUpdated, id,
 *   versionId }` newest first (type history, `_since`).
 * - Sorting: keyset paging sorts on `index.<code>__sort_asc` ascending or `__sort_desc`
 *   descending, then `id` ascending. For each date, number, quantity and string parameter
 *   (the orders clients ask for: newest first, by name) there is one index per direction with
 *   the equality prefix `{ resourceType, deleted }`, so a page is read in index order and the
 *   next page starts where the cursor points. A sort on a token, reference or uri parameter
 *   runs as a top-k sort of the matches. Parameters beyond the budget are reported at start.
 */

/** What the plan needs to know of a search parameter (structurally, `SearchParamDef`). */
export interface PlannedParam {
  code: string;
  type: string;
}

/** The served types and their parameters (structurally, `SearchIndex.params`). */
export interface SearchParamSource {
  resourceTypes: readonly string[];
  params(resourceType: string): ReadonlyMap<string, PlannedParam>;
}

/** One index to create; `name` is stable, so a changed definition is noticed rather than duplicated. */
export interface IndexSpec {
  collection: CollectionName;
  name: string;
  key: Record<string, 1 | -1>;
  unique?: true;
}

export interface IndexPlan {
  indexes: IndexSpec[];
  /** Sortable parameters left without a sort index because the collection's budget was spent. */
  unindexedSorts: string[];
}

/** MongoDB's limit per collection, `_id` included; a few are left for the operator's own. */
export const MAX_INDEXES_PER_COLLECTION = 64;
export const RESERVED_FOR_OPERATORS = 4;
/** Prefix of every index FhirGate creates. */
export const INDEX_PREFIX = 'fhirgate_';

/** Parameter types that get sort indexes, in order of priority. */
const SORT_INDEXED_TYPES = ['date', 'number', 'quantity', 'string'];
/** Parameters answered from record fields (`_id` → id, `_lastUpdated` → lastUpdated), indexed above. */
const RECORD_FIELD_PARAMS = new Set(['_id', '_lastUpdated']);

/** The fixed indexes, independent of the parameters. */
export function baseIndexes(): IndexSpec[] {
  const current = (name: string, key: IndexSpec['key'], unique?: true): IndexSpec => ({ collection: 'current', name: INDEX_PREFIX + name, key, ...(unique ? { unique } : {}) });
  const history = (name: string, key: IndexSpec['key'], unique?: true): IndexSpec => ({ collection: 'history', name: INDEX_PREFIX + name, key, ...(unique ? { unique } : {}) });
  return [
    current('type_id', { resourceType: 1, id: 1 }, true),
    current('type_deleted_id', { resourceType: 1, deleted: 1, id: 1 }),
    current('type_deleted_lastUpdated_asc', { resourceType: 1, deleted: 1, lastUpdated: 1, id: 1 }),
    current('type_deleted_lastUpdated_desc', { resourceType: 1, deleted: 1, lastUpdated: -1, id: 1 }),
    current('type_index_wildcard', { resourceType: 1, 'index.$**': 1 }),
    history('type_id_version', { resourceType: 1, id: 1, versionId: 1 }, true),
    history('type_lastUpdated_id_version', { resourceType: 1, lastUpdated: -1, id: -1, versionId: -1 }),
  ];
}

/** The two sort indexes of one parameter: the keyset orders `sortField` and `resolveSort` produce. */
export function sortIndexes(code: string): IndexSpec[] {
  const key = indexKey(code);
  return [
    { collection: 'current', name: `${INDEX_PREFIX}sort_${key}_asc`, key: { resourceType: 1, deleted: 1, [`index.${sortKey(code, 1)}`]: 1, id: 1 } },
    { collection: 'current', name: `${INDEX_PREFIX}sort_${key}_desc`, key: { resourceType: 1, deleted: 1, [`index.${sortKey(code, -1)}`]: -1, id: 1 } },
  ];
}

/** The whole plan for the served parameters. */
export function indexPlan(source: SearchParamSource): IndexPlan {
  const indexes = baseIndexes();
  const budget = MAX_INDEXES_PER_COLLECTION - RESERVED_FOR_OPERATORS - 1; // `_id` always exists
  const unindexedSorts: string[] = [];
  for (const code of sortableCodes(source)) {
    const inCurrent = indexes.filter((i) => i.collection === 'current').length;
    if (inCurrent + 2 <= budget) indexes.push(...sortIndexes(code));
    else unindexedSorts.push(code);
  }
  return { indexes, unindexedSorts };
}

/**
 * Distinct codes of sort-indexed parameters across the served types, by type priority, then
 * code. A code is keyed by its index field, so `date` of five types shares one pair of indexes.
 */
export function sortableCodes(source: SearchParamSource): string[] {
  const rank = new Map<string, number>();
  for (const type of source.resourceTypes) {
    for (const param of source.params(type).values()) {
      const priority = SORT_INDEXED_TYPES.indexOf(param.type);
      if (priority < 0 || RECORD_FIELD_PARAMS.has(param.code)) continue;
      const key = indexKey(param.code); // codes that share an index field share its indexes
      rank.set(key, Math.min(priority, rank.get(key) ?? priority));
    }
  }
  return [...rank].sort(([a, ra], [b, rb]) => ra - rb || (a < b ? -1 : a > b ? 1 : 0)).map(([code]) => code);
}
