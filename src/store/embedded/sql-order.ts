import type { CollectionName, Sort } from '../port.js';
import { pidIn, type PathIds } from './path-ids.js';
import type { LackingTypes } from './unindexed.js';

/** The record fields that are columns of both record tables, by field. */
export const COLUMNS: Record<string, string> = { resourceType: 'type', id: 'id', versionId: 'version', lastUpdated: 'last_updated', deleted: 'deleted' };

/**
 * A MongoDB sort as SQL `ORDER BY`, or undefined when a field is neither a record column nor a
 * search-value path the matching types keep rows of. A search-value path sorts by its smallest value ascending and its largest
 * descending, MongoDB's rule for arrays; a record without one sorts as null, first ascending and
 * last descending in both. Strings are UTF-16BE blobs (search-values.ts), so the order is
 * JavaScript's and mingo's, and numbers sort before strings as in BSON. `table`: the alias of the
 * rows sorted, with the record table's column names (`r`, or the materialized matches `m` of a
 * counted page, query.ts).
 */
export function orderBy(sort: Sort, pathIds: PathIds, lacking: LackingTypes = () => [], collection: CollectionName = 'current', table = 'r'): string | undefined {
  const terms: string[] = [];
  for (const [field, direction] of Object.entries(sort)) {
    const dir = direction === -1 ? 'DESC' : 'ASC';
    const column = COLUMNS[field];
    if (column) {
      terms.push(`${table}.${column} ${dir}`);
      continue;
    }
    // Some matches may have no rows for it (unindexed.ts), or rows of another version (`history`): sorted in memory from the records.
    if (!field.startsWith('index.') || lacking(field).length > 0 || collection === 'history') return undefined;
    const pids = pathIds(field);
    if (pids.length === 0) continue; // no record has a value: every record ties on this key
    terms.push(`(SELECT ${direction === -1 ? 'max' : 'min'}(value) FROM search_values WHERE rid = ${table}.rid AND ${pidIn('pid', pids)}) ${dir}`);
  }
  return terms.length ? `ORDER BY ${terms.join(', ')}` : '';
}
