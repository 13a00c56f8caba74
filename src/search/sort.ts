import { FhirError } from '../fhir/errors.js';
import type { SortKey } from './keyset.js';
import type { ParamIssue, SortSpec } from './parse.js';
import { SearchRefusal } from './refusal.js';
import type { SearchIndex } from './types.js';

export interface ResolvedSort {
  /** Keyset sort keys, ending with the unique tiebreaker `id`. */
  keys: SortKey[];
  applied: SortSpec[];
  issues: ParamIssue[];
}

// Without `_sort` results come in id order: stable while resources are updated, which a
// lastUpdated order is not (an update would move a resource between pages).
const TIEBREAKER: SortKey = { field: 'id', direction: 1 };

/**
 * `_sort` (search.html#sort) as keyset sort keys: each parameter's sort scalar from the index
 * (`_id` → id, `_lastUpdated` → lastUpdated), then `id` to make the order total for paging.
 */
export function resolveSort(index: SearchIndex, type: string, specs: readonly SortSpec[]): ResolvedSort {
  const keys: SortKey[] = [];
  const applied: SortSpec[] = [];
  const issues: ParamIssue[] = [];
  const params = index.params(type);
  for (const spec of specs) {
    if (!params.has(spec.code)) {
      issues.push({ param: '_sort', message: `Unknown search parameter '${spec.code}' for ${type} in _sort` });
      continue;
    }
    let field: string;
    try {
      field = index.sortField(type, spec.code, spec.direction);
    } catch (err) {
      if (!(err instanceof FhirError) || err instanceof SearchRefusal) throw err;
      issues.push({ param: '_sort', message: err.message });
      continue;
    }
    if (keys.some((k) => k.field === field)) continue;
    keys.push({ field, direction: spec.direction });
    applied.push(spec);
  }
  if (!keys.some((k) => k.field === 'id')) keys.push(TIEBREAKER);
  return { keys, applied, issues };
}

/** The `_sort` value of the applied keys, for the `self` link. */
export function sortParam(applied: readonly SortSpec[]): string | undefined {
  return applied.length === 0 ? undefined : applied.map((s) => `${s.direction === -1 ? '-' : ''}${s.code}`).join(',');
}
