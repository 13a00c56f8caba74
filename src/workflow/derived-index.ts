import type { Resource } from '@medplum/fhirtypes';
import { INDEX_KID_FIELD } from '../crypto/blind-index.js';
import type { SearchIndex } from '../search/types.js';
import type { StoredRecord } from '../store/port.js';

/** Keys the rules keep in a record's `index` beside its search values (`dispense-tally.ts`, `hold-index.ts`); no search parameter has `__` in its code. */
export const WORKFLOW_KEY_PREFIX = 'workflow__';

type Index = Record<string, unknown>;

/**
 * The search values of a version the rules derive (issue 17: a prescription with its new total or
 * `completed`, a slot `busy` or `free`): its content is the read version's with at most `status`
 * changed, so its values are the read version's, with the ones `status` yields replaced, instead of
 * evaluating every parameter's expression again. Undefined (extract as usual) when the read version
 * has blind-index tokens (they may be under an older index key) or the change is not one of
 * `status` alone (`statusChange`). The rules' own keys are left out: each derived write sets its own.
 */
export function derivedIndex(searchIndex: SearchIndex, read: StoredRecord, base: Resource, status: string | undefined): Index | undefined {
  const index = read.index;
  if (!index || index[INDEX_KID_FIELD] !== undefined) return undefined;
  const kept: Index = {};
  for (const [key, value] of Object.entries(index)) if (!key.startsWith(WORKFLOW_KEY_PREFIX)) kept[key] = value;
  const before = (base as { status?: unknown }).status;
  if (status === undefined || status === before) return kept;
  if (typeof before !== 'string') return undefined;
  const change = statusChange(searchIndex, base.resourceType, before, status);
  // The read version must hold exactly what its status yields, else something else shaped it: extract.
  if (!change || Object.entries(change.before).some(([key, value]) => JSON.stringify(kept[key]) !== value)) return undefined;
  for (const [key, value] of Object.entries(change.after)) {
    if (value === undefined) delete kept[key];
    else kept[key] = JSON.parse(value) as unknown;
  }
  return kept;
}

/** The index keys `status` yields, as JSON, before and after (undefined: absent); the same keys on both sides. */
interface StatusChange {
  before: Record<string, string | undefined>;
  after: Record<string, string | undefined>;
}

const changes = new WeakMap<SearchIndex, Map<string, StatusChange | undefined>>();

/**
 * What changing `status` alone changes in a `type`'s index, from two resources holding nothing but
 * it: the keys whose values differ. Undefined when either yields blind tokens. Computed once per
 * search index and change: extraction is a function of the resource (the blind case aside).
 */
function statusChange(searchIndex: SearchIndex, type: string, before: string, after: string): StatusChange | undefined {
  let known = changes.get(searchIndex);
  if (!known) changes.set(searchIndex, (known = new Map()));
  const id = `${type}|${before}|${after}`;
  if (known.has(id)) return known.get(id);
  const of = (status: string): Index => searchIndex.extract({ resourceType: type, id: 'derived', status } as Resource);
  const [a, b] = [of(before), of(after)];
  let change: StatusChange | undefined;
  if (a[INDEX_KID_FIELD] === undefined && b[INDEX_KID_FIELD] === undefined) {
    change = { before: {}, after: {} };
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const [x, y] = [json(a[key]), json(b[key])];
      if (x === y) continue;
      change.before[key] = x;
      change.after[key] = y;
    }
  }
  known.set(id, change);
  return change;
}

const json = (value: unknown): string | undefined => (value === undefined ? undefined : JSON.stringify(value));
