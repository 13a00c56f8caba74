import { describe, expect, it } from 'vitest';
import { readPage, type Cursor, type SortKey } from '../../../src/search/keyset.js';
import type { Filter } from '../../../src/store/port.js';
import { GENERATED } from './fixtures.js';
import { testIndex, describeEachStore, type Clause } from './support.js';

const index = testIndex();

describeEachStore('sorting and keyset paging', index, GENERATED, (handle) => {
  /** Reads every page of one record per page, following the cursors. */
  async function walk(filter: Filter, keys: SortKey[]): Promise<string[]> {
    const ids: string[] = [];
    let cursor: Cursor | undefined;
    for (let guard = 0; guard < 20; guard++) {
      const page = await readPage(handle.db.store, 'current', filter, keys, 1, cursor);
      ids.push(...page.records.map((r) => r.id));
      if (!page.next) return ids;
      cursor = page.next;
    }
    throw new Error('paging did not end');
  }

  const ids = (...values: string[]): Clause => ['_id', undefined, values];

  const CASES: Array<[label: string, type: string, code: string, scope: Clause, ascending: string[], descending: string[]]> = [
    // gen-smyth is named both Smyth and Zed: last ascending (by "smyth"), first descending (by "zed")
    [
      'family',
      'Patient',
      'family',
      ids('gen-muller', 'gen-mueller', 'gen-smith', 'gen-smyth'),
      ['gen-mueller', 'gen-muller', 'gen-smith', 'gen-smyth'],
      ['gen-smyth', 'gen-smith', 'gen-muller', 'gen-mueller'],
    ],
    // dates sort by the earliest start ascending and the latest end descending
    [
      'birthdate of three precisions',
      'Patient',
      'birthdate',
      ids('gen-muller', 'gen-mueller', 'gen-smith'),
      ['gen-mueller', 'gen-smith', 'gen-muller'],
      ['gen-mueller', 'gen-smith', 'gen-muller'],
    ],
    [
      'timing events',
      'MedicationRequest',
      'date',
      ids('gen-mr-t1', 'gen-mr-t2', 'gen-mr-t3'),
      ['gen-mr-t3', 'gen-mr-t1', 'gen-mr-t2'],
      ['gen-mr-t3', 'gen-mr-t1', 'gen-mr-t2'],
    ],
    [
      'numbers',
      'Appointment',
      'minutes',
      ids('gen-ap-30', 'gen-ap-100', 'gen-ap-101'),
      ['gen-ap-30', 'gen-ap-100', 'gen-ap-101'],
      ['gen-ap-101', 'gen-ap-100', 'gen-ap-30'],
    ],
  ];

  describe('sortField gives exact keyset paging on multi-valued parameters', () => {
    it.each(CASES)('%s', async (_label, type, code, scope, ascending, descending) => {
      const filter = handle.db.filter(type, scope);
      for (const [direction, expected] of [[1, ascending], [-1, descending]] as const) {
        const keys: SortKey[] = [{ field: index.sortField(type, code, direction), direction }, { field: 'id', direction: 1 }];
        expect(await walk(filter, keys)).toEqual(expected);
        const sorted = await handle.db.store.find('current', filter, { sort: { [keys[0].field]: direction, id: 1 } });
        expect(sorted.map((r) => r.id)).toEqual(expected);
      }
    });
  });
});
