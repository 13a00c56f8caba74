import { dateRange } from '../search/index/date-range.js';
import { readPage, type Cursor, type Page, type SortKey } from '../search/keyset.js';
import type { Filter, StoredRecord, StorePort } from '../store/port.js';
import { FhirError } from './errors.js';
import { single } from './params.js';

/** The period of `_at` (http.html#history): every instant its precision covers, as [start, end). */
export interface AtPeriod {
  start: string;
  end: string;
}

/** Parses `_at` (a date, dateTime or instant; `_at=2024-03` is that month). */
export function atParam(params: Record<string, string[]>): AtPeriod | undefined {
  const raw = single(params, '_at');
  if (raw === undefined) return undefined;
  const range = dateRange(raw);
  if (!range) throw new FhirError('bad-request', `_at must be a date or date-time such as 2024-03-05T10:00:00Z, got '${raw.slice(0, 40)}'`);
  return { start: range.lo, end: new Date(Date.parse(range.hi) + 1).toISOString() };
}

/**
 * One history page under `_at`: the versions that were current at some point of the period. A
 * version is current from its lastUpdated until the next version's, so it qualifies when it was
 * written before the period ended and its successor (if any) came after the period started.
 * The filter already holds `lastUpdated < end`; older versions are checked against their
 * successor, reading on until the page is full. Only forward paging (`next`) is offered.
 */
export async function readPageAt(store: StorePort, filter: Filter, keys: readonly SortKey[], count: number, period: AtPeriod, cursor?: Cursor): Promise<Page> {
  const kept: StoredRecord[] = [];
  let from = cursor?.dir === 'next' ? cursor : undefined;
  for (;;) {
    const page = await readPage(store, 'history', filter, keys, Math.max(count, 1), from);
    for (const record of page.records) {
      if (!(await currentDuring(store, record, period))) continue;
      kept.push(record);
      if (kept.length === count) {
        return { records: kept, next: { dir: 'next', key: keys.map((k) => (record as unknown as Record<string, unknown>)[k.field] ?? null) } };
      }
    }
    if (!page.next || count === 0) return { records: kept };
    from = page.next;
  }
}

async function currentDuring(store: StorePort, record: StoredRecord, period: AtPeriod): Promise<boolean> {
  if (record.lastUpdated >= period.start) return true;
  const [successor] = await store.find('history', { resourceType: record.resourceType, id: record.id, versionId: record.versionId + 1 }, { limit: 1 });
  return !successor || successor.lastUpdated > period.start;
}
