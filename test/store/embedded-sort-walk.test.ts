import { Query } from 'mingo';
import { readPage, type Cursor, type SortKey } from '../../src/search/keyset.js';
import { describe, expect, it } from 'vitest';
import { WALK_LIMIT } from '../../src/store/embedded/bounded-walk.js';
import { sortRecords } from '../../src/store/embedded/sort.js';
import { GenerationMemo } from '../../src/store/embedded/generation-memo.js';
import { SinglePaths } from '../../src/store/embedded/single-paths.js';
import { pathFacts, sortWalk, walkPage } from '../../src/store/embedded/sort-walk.js';
import { translateFilter } from '../../src/store/embedded/sql-filter.js';
import type { Filter, Sort, StoredRecord } from '../../src/store/port.js';
import { DRIVER_LIMIT } from '../../src/store/embedded/driver-choice.js';
import { openStore, recordingQueryContext, removeDir, storeHolding, tempDir } from './embedded-support.js';

/**
 * Issue 13, "sorting uses indexes": a page sorted by a search value with nothing narrowing it
 * (`Patient?_sort=family`, `Appointment?_sort=-date`) is read in that order from the value index
 * (src/store/embedded/sort-walk.ts) instead of sorting every record of the type. Every page here
 * is checked against mingo's filter and MongoDB's sort order over all the records; the walk must
 * give way wherever a match it did not read could come first: a tie of values cut by the end of the
 * walk, matches past it, a record without the value (first ascending).
 */
const KEY = 'family__sort_asc';
const PATH = `index.${KEY}`;
const EARLY = WALK_LIMIT - 10; // unique values, in walk order before the tie
const TIE = 30; // one value, straddling the WALK_LIMIT-th row of the walk

/** When a patient was stored: `near` and `rare` patients later than the others (a record column: no driver narrows a search by it, so the walk is tried). */
const STORED = { other: '2024-01-01T00:00:00.000Z', near: '2024-06-01T00:00:00.000Z', rare: '2024-09-01T00:00:00.000Z', both: '2024-12-01T00:00:00.000Z' };

function patient(id: string, value: string | undefined, stored: keyof typeof STORED = 'other', deleted = false): StoredRecord {
  // A second key, for sorts by two values: three givens, in an order unrelated to the ids'.
  const index: Record<string, unknown> = { given__sort_asc: `g${[...id].reduce((n, c) => n + c.charCodeAt(0), 0) % 3}`, ...(value === undefined ? {} : { [KEY]: value }) };
  return { resourceType: 'Patient', id, versionId: 1, lastUpdated: STORED[stored], deleted, ...(deleted ? {} : { resource: { resourceType: 'Patient', id } as StoredRecord['resource'] }), index };
}

/**
 * Patients whose ids run against their values' order (so a page sorted by value then id differs
 * from one in storage order): EARLY unique values, then TIE patients sharing `m` (their ids, in
 * reverse of the order they are stored, put the last-stored first within the tie), then later values.
 * `near`: the 15 before the tie and the whole tie; `rare`: three patients at the far end (and the
 * patient without a value, when there is one, in both).
 */
function patients(withoutValue: boolean): StoredRecord[] {
  const out: StoredRecord[] = [];
  for (let i = 0; i < EARLY; i++) out.push(patient(`p${String(9999 - i).padStart(4, '0')}`, `a${String(i).padStart(5, '0')}`, i >= EARLY - 15 ? 'near' : 'other'));
  for (let i = 0; i < TIE; i++) out.push(patient(`m${String(TIE - i).padStart(3, '0')}`, 'm', 'near'));
  for (let i = 0; i < 500; i++) out.push(patient(`z${String(i).padStart(4, '0')}`, `z${String(i).padStart(5, '0')}`, i >= 497 ? 'rare' : 'other'));
  out.push(patient('gone-a', 'a', 'other', true), patient('gone-z', 'zzz', 'other', true));
  if (withoutValue) out.push(patient('nameless', undefined, 'both'));
  // Another type with values at the same path: its rows have their own path id.
  out.push({ ...patient('other', 'a'), resourceType: 'Group' });
  return out;
}

const ofPatients = (...criteria: Filter[]): Filter => ({ $and: [{ resourceType: 'Patient', deleted: false }, ...criteria] });
const storedIn = (...when: Array<keyof typeof STORED>): Filter => ({ lastUpdated: { $in: when.map((w) => STORED[w]) } });

function expectedIds(records: readonly StoredRecord[], filter: Filter, sort: Sort, limit: number): string[] {
  const query = new Query(filter);
  return sortRecords(records.filter((r) => query.test(r as unknown as Record<string, unknown>)), sort)
    .slice(0, limit)
    .map((r) => r.id);
}

/** The sort value of the patient `id` (null without one). */
const sortValue = (records: readonly StoredRecord[], id: string): unknown => records.find((r) => r.id === id)?.index?.[KEY] ?? null;

const CASES: Array<[string, Filter, Sort]> = [
  ['every patient, ascending', ofPatients(), { [PATH]: 1, id: 1 }],
  ['every patient, descending', ofPatients(), { [PATH]: -1, id: 1 }],
  ['matches that reach the tie cut by the end of the walk', ofPatients(storedIn('near', 'both')), { [PATH]: 1, id: 1 }],
  ['matches past the walk', ofPatients(storedIn('rare', 'both')), { [PATH]: 1, id: 1 }],
  ['matches past the walk, descending', ofPatients(storedIn('near', 'both')), { [PATH]: -1, id: -1 }],
  ['a keyset position', ofPatients({ $or: [{ [PATH]: { $gt: 'a00100' } }, { [PATH]: 'a00100', id: { $gt: 'p0000' } }] }), { [PATH]: 1, id: 1 }],
  ['a keyset position, descending', ofPatients({ $or: [{ [PATH]: { $lt: 'z00490' } }, { [PATH]: 'z00490', id: { $gt: 'z0490' } }] }), { [PATH]: -1, id: 1 }],
  ['then by lastUpdated', ofPatients(), { [PATH]: -1, lastUpdated: -1, id: 1 }],
  ['then by another search value', ofPatients(), { [PATH]: 1, 'index.given__sort_asc': -1, id: 1 }],
  ['then by another search value, past the walk', ofPatients(storedIn('near', 'both')), { [PATH]: -1, 'index.given__sort_asc': 1, id: -1 }],
];

describe.each([
  ['every patient has the value', false],
  ['one patient has none', true],
])('embedded store: pages sorted by a search value (%s)', (_, withoutValue) => {
  const records = patients(withoutValue);
  const held = storeHolding(records);

  it.each(CASES)('%s: as mingo and MongoDB sort order give it', async (_, filter, sort) => {
    const query = new Query(filter);
    const total = records.filter((r) => query.test(r as unknown as Record<string, unknown>)).length;
    for (const limit of [1, 20, 21]) {
      const expected = expectedIds(records, filter, sort, limit);
      expect((await held.store().find('current', filter, { sort, limit })).map((r) => r.id), `limit ${limit}`).toEqual(expected);
      expect(await held.store().findCounted!('current', filter, { sort, limit })).toMatchObject({ records: expected.map((id) => expect.objectContaining({ id })), total });
    }
  });

  it('answers from the walk where nothing unread can come first, and gives way elsewhere', () => {
    const { ctx } = recordingQueryContext(held.db());
    const { pathIds, keyPathIds } = ctx.paths.scope(new Set(['Patient']));
    const facts = (type: string, pid: number) => pathFacts(ctx.statements, new GenerationMemo(), new SinglePaths(), type, pid);
    const walked = (filter: Filter, sort: Sort): number[] | undefined => {
      const walk = sortWalk('current', filter, sort, translateFilter(filter, pathIds, keyPathIds), pathIds, () => [], 20, facts);
      expect(walk, 'a sort the walk takes').toBeDefined();
      return walkPage(ctx.statements, walk!, 20, facts);
    };
    // Descending, the patients without a value come last: the walk answers either way.
    expect(walked(ofPatients(), { [PATH]: -1, id: 1 })).toHaveLength(20);
    // Ascending they come first: the walk answers only when there are none.
    expect(walked(ofPatients(), { [PATH]: 1, id: 1 })).toEqual(withoutValue ? undefined : expect.any(Array));
    // The tie at the end of the walk, and matches past it, are the usual plan's.
    expect(walked(ofPatients(storedIn('near', 'both')), { [PATH]: 1, id: 1 })).toBeUndefined();
    expect(walked(ofPatients(storedIn('rare', 'both')), { [PATH]: 1, id: 1 })).toBeUndefined();
  });

  it.each([
    ['ascending', 1],
    ['descending', -1],
  ] as const)('pages through every patient by keyset, %s, forward and back, as the full order gives them', async (_, direction) => {
    const keys: SortKey[] = [{ field: PATH, direction }, { field: 'id', direction: 1 }];
    const sort: Sort = { [PATH]: direction, id: 1 };
    const expected = expectedIds(records, ofPatients(), sort, records.length);
    const pages: string[][] = [];
    let cursor: Cursor | undefined;
    do {
      const page = await readPage(held.store(), 'current', ofPatients(), keys, 50, cursor);
      pages.push(page.records.map((r) => r.id));
      cursor = page.next;
    } while (cursor);
    expect(pages.flat()).toEqual(expected);
    // And back by the `prev` links from the last page (the one after the 51st patient from the end).
    const last = await readPage(held.store(), 'current', ofPatients(), keys, 50, { dir: 'next', key: [sortValue(records, expected.at(-51)!), expected.at(-51)!] });
    const back: string[][] = [last.records.map((r) => r.id)];
    let before = last.prev;
    while (before) {
      const page = await readPage(held.store(), 'current', ofPatients(), keys, 50, before);
      back.unshift(page.records.map((r) => r.id));
      before = page.prev;
    }
    expect(back.flat()).toEqual(expected);
  });

  it('walks a deep page from its keyset position, not from the first value', () => {
    const { ctx } = recordingQueryContext(held.db());
    const { pathIds, keyPathIds } = ctx.paths.scope(new Set(['Patient']));
    const deep = ofPatients({ $or: [{ [PATH]: { $gt: 'a01950' } }, { [PATH]: 'a01950', id: { $gt: 'p8049' } }] });
    const facts = (type: string, pid: number) => pathFacts(ctx.statements, new GenerationMemo(), new SinglePaths(), type, pid);
    const walk = sortWalk('current', deep, { [PATH]: 1, id: 1 }, translateFilter(deep, pathIds, keyPathIds), pathIds, () => [], 20, facts)!;
    expect(walk.sql).toContain('value >= ?');
    // The rows in their key order from the position on, each one's record by its number (SQLite's plan).
    const plan = (ctx.statements.get(`EXPLAIN QUERY PLAN ${walk.sql}`).all(...walk.params) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
    expect(plan).toMatch(/SEARCH search_values USING PRIMARY KEY \(pid=\? AND value>\?\)/);
    expect(plan).toMatch(/SEARCH r USING (COVERING )?INDEX current_by_rid_match \(rid=\?/);
    expect(plan).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
    // Whether every record has a value is not asked: the position excludes those without one.
    const page = walkPage(ctx.statements, walk, 20, (type, pid) => ({ complete: false, single: facts(type, pid).single }));
    expect(page).toHaveLength(20);
  });

  it('walks only a sort it can answer: one type, a search value first', () => {
    const { ctx } = recordingQueryContext(held.db());
    const { pathIds, keyPathIds } = ctx.paths.scope(new Set(['Patient']));
    const where = translateFilter(ofPatients(), pathIds, keyPathIds);
    expect(sortWalk('current', ofPatients(), { [PATH]: 1, 'index.given__sort_asc': 1 }, where, pathIds, () => [], 20, () => ({ complete: true, single: true }))).toBeDefined();
    // A later key some records keep out of the value rows (unindexed.ts) is sorted in memory, by the usual plan.
    expect(sortWalk('current', ofPatients(), { [PATH]: 1, 'index.given__sort_asc': 1 }, where, pathIds, (p) => (p === PATH ? [] : ['Patient']), 20, () => ({ complete: true, single: true }))).toBeUndefined();
    expect(sortWalk('current', ofPatients(), { id: 1 }, where, pathIds, () => [], 20, () => ({ complete: true, single: true }))).toBeUndefined();
    expect(sortWalk('history', ofPatients(), { [PATH]: 1, id: 1 }, where, pathIds, () => [], 20, () => ({ complete: true, single: true }))).toBeUndefined();
    expect(sortWalk('current', { deleted: false }, { [PATH]: 1, id: 1 }, where, pathIds, () => [], 20, () => ({ complete: true, single: true }))).toBeUndefined();
    expect(sortWalk('current', ofPatients(), { [PATH]: 1, id: 1 }, where, pathIds, () => [], WALK_LIMIT, () => ({ complete: true, single: true }))).toBeUndefined();
    expect(sortWalk('current', ofPatients(), { [PATH]: 1, id: 1 }, where, pathIds, () => ['Patient'], 20, () => ({ complete: true, single: true }))).toBeUndefined();
  });
});

describe('embedded store: a page sorted by a path some records hold several values of', () => {
  // Sorted by its smallest value ascending (MongoDB's rule for arrays): r1 by `a`, though only its `z` is past the bound.
  const tagged = (id: string, tags: string[]): StoredRecord => ({ ...patient(id, 'x'), index: { tags } });
  const records = [tagged('r1', ['a', 'z']), tagged('r2', ['n']), tagged('r3', ['p']), tagged('r4', ['q'])];
  const held = storeHolding(records);

  it.each([
    ['past a bound', ofPatients({ 'index.tags': { $gt: 'm' } }), { 'index.tags': 1, id: 1 }],
    ['below a bound, descending', ofPatients({ 'index.tags': { $lt: 'q' } }), { 'index.tags': -1, id: 1 }],
    ['everything', ofPatients(), { 'index.tags': 1, id: 1 }],
  ] as Array<[string, Filter, Sort]>)('%s: as mingo and MongoDB sort order give it', async (_, filter, sort) => {
    for (const limit of [1, 2, 3]) expect((await held.store().find('current', filter, { sort, limit })).map((r) => r.id), `limit ${limit}`).toEqual(expectedIds(records, filter, sort, limit));
    // The walk itself (a search this small starts from its driver instead): from the first row, not from the bound.
    const { ctx } = recordingQueryContext(held.db());
    const { pathIds, keyPathIds } = ctx.paths.scope(new Set(['Patient']));
    const facts = (type: string, pid: number) => pathFacts(ctx.statements, new GenerationMemo(), new SinglePaths(), type, pid);
    const walk = sortWalk('current', filter, sort, translateFilter(filter, pathIds, keyPathIds), pathIds, () => [], 2, facts)!;
    expect(walk.sql).toMatch(/\(SELECT rid, value FROM search_values WHERE pid = \? ORDER BY value (ASC|DESC) LIMIT/);
    const byVid = new Map((held.db().prepare('SELECT vid, id FROM current').all() as Array<{ vid: number; id: string }>).map((r) => [r.vid, r.id]));
    const page = walkPage(ctx.statements, walk, 2, facts);
    expect(page?.map((vid) => byVid.get(vid))).toEqual(expectedIds(records, filter, sort, 2));
  });
});

describe('embedded store: a path whose values become several for one resource (SinglePaths)', () => {
  it('starts its walks at the bound while each resource has one value, and from the first row once one has two', async () => {
    const dir = await tempDir();
    try {
      const { store } = await openStore(dir);
      const one = (i: number): StoredRecord => ({ ...patient(`p${String(i).padStart(4, '0')}`, 'x'), index: { k: `v${String(i).padStart(4, '0')}` } });
      const records = Array.from({ length: DRIVER_LIMIT + 200 }, (_, i) => one(i));
      await store.commit(records.map((record) => ({ record, expectedVersion: 0 })));
      // Too many past the bound for the query to start from them: the walk answers.
      const filter = ofPatients({ 'index.k': { $gt: 'v0100' } });
      const sort: Sort = { 'index.k': 1, id: 1 };
      const page = async (): Promise<string[]> => (await store.find('current', filter, { sort, limit: 3 })).map((r) => r.id);
      expect(await page()).toEqual(['p0101', 'p0102', 'p0103']);
      // Two values, one each side of the bound: sorted by the smaller (MongoDB's rule for arrays), so first.
      const both = { ...patient('both', 'x'), index: { k: ['a', 'v0500'] } };
      await store.commit([{ record: both, expectedVersion: 0 }]);
      expect(await page()).toEqual(expectedIds([...records, both], filter, sort, 3));
      expect(await page()).toEqual(['both', 'p0101', 'p0102']);
      await store.close();
    } finally {
      await removeDir(dir);
    }
  });
});
