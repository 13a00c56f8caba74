import type { SearchParamDef } from '../types.js';
import { sortKey } from './fields.js';

/** The served types and their parameters (SearchIndex.params). */
export interface ParamSource {
  resourceTypes: readonly string[];
  params(resourceType: string): ReadonlyMap<string, Pick<SearchParamDef, 'code'>>;
}

/**
 * Types whose sort values the embedded store keeps in the record only, out of its search-value
 * table, but for the parameters named here: values written often and sorted by rarely. `_sort` on
 * the others stays correct: the store sorts those matches in memory (src/store/embedded/unindexed.ts).
 * Their entries stay indexed, so every search parameter still narrows by index.
 * - AuditEvent (issue 14): the server writes one for every request, and its ~11 pairs of sort
 *   scalars were a third of the event's rows, while an audit review sorts by `date` (kept) or
 *   `_lastUpdated`/`_id` (record columns).
 * - Slot (issue 17): every booking and cancellation changes a slot's `status`, whose two sort rows
 *   (deleted, kept as ended, inserted) were two thirds of the value rows the change writes; free
 *   times are listed by `start` (kept), no one lists slots by status, schedule or service type.
 */
const SORTED_BY_INDEX: Readonly<Record<string, ReadonlySet<string>>> = { AuditEvent: new Set(['date']), Slot: new Set(['start']) };

/** The `record.index` keys the embedded store need not put in its search-value table, by type. */
export function unindexedKeys(source: ParamSource): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [type, kept] of Object.entries(SORTED_BY_INDEX)) {
    if (!source.resourceTypes.includes(type)) continue;
    const codes = [...source.params(type).keys()].filter((code) => !kept.has(code));
    out[type] = codes.flatMap((code) => [sortKey(code, 1), sortKey(code, -1)]).sort();
  }
  return out;
}
