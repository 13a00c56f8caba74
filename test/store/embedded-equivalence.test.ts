import { Query } from 'mingo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedStore } from '../../src/store/embedded/index.js';
import type { Filter, StorePort, StoredRecord } from '../../src/store/port.js';
import { removeDir, tempDir } from './embedded-support.js';

/**
 * The SQL translation of query documents (src/store/embedded/sql-filter.ts) against mingo, the
 * reference both adapters follow: for every filter of the table, the store's matches and count must
 * be mingo's over the same records. The records mix the shapes MongoDB's rules treat specially:
 * arrays of entries, scalars, nulls, missing keys, numbers beside strings, nested arrays, accents
 * and characters on both sides of the UTF-16 surrogate range. Then the same after one version
 * with an array inside an array (which makes every answer re-checked).
 */
const INDEXES: Array<Record<string, unknown> | undefined> = [
  { name: [{ f: 'smith', e: 'Smith' }, { f: 'jo', e: 'Jo' }], name__sort_asc: 'jo smith', gender: [{ s: 'http://g', c: 'male' }] },
  { name: [{ f: 'smithers' }], name__sort_asc: 'smithers', gender: [{ s: 'http://g', c: 'female' }], birthdate: [{ lo: '1980-01-01T00:00:00.000Z', hi: '1980-12-31T23:59:59.999Z' }] },
  { name: [{ f: 'smíth' }], birthdate: [{ lo: '1990-05-01T00:00:00.000Z', hi: '1990-05-01T23:59:59.999Z' }], value: [{ v: 5, lo: 4.5, hi: 5.5 }] },
  { name: [{ f: 'o\uffffa' }], name__sort_asc: 'o\uffffa', value: [{ v: 12 }, { v: 2 }] },
  { name: [{ f: 'o\u{1F600}a' }], name__sort_asc: 'o\u{1F600}a', value: [{ v: '12' }] },
  { gender: null, name__sort_asc: null },
  { gender: [{ c: 'male' }, { s: 'http://g' }], tags: ['a', 'b'] },
  { tags: 'a', flag: true, identifier: [{ s: 'urn:mrn', c: '1', ty: [{ s: 'http://t', c: 'MR' }] }] },
  { identifier: [{ s: 'urn:mrn', c: '2' }, { s: 'urn:other', c: '1' }], subject: [{ r: 'Patient/1', t: 'Patient', i: '1' }] },
  { subject: [{ r: 'Group/1', t: 'Group', i: '1' }], value: [{ v: -3.25 }] },
  // Presence without a presence row (issue 14): value rows tell, unless a null or no value row does.
  { part: [{ c: 'x' }, null], empty: [], blank: [{}], bools: [true], flag: false },
  { part: [{ c: 'y' }], empty: [{ c: 'z' }], blank: [{ s: 'http://b' }], bools: [1], flag: null },
  {},
  undefined,
];

const FILTERS: Filter[] = [
  {},
  { resourceType: 'Patient' },
  { resourceType: 'Patient', deleted: false },
  { id: { $in: ['r1', 'r3', 'nope'] } },
  { id: { $nin: ['r1', 'r3'] }, resourceType: { $ne: 'Observation' } },
  { id: { $gt: 'r3' } },
  { versionId: { $gte: 1 }, lastUpdated: { $lt: '2030-01-01' } },
  { 'index.name.f': 'smith' },
  { 'index.name.f': { $regex: '^smi' } },
  { 'index.name.f': { $regex: '^o\uffff' } },
  { 'index.name.f': { $regex: 'mit' } },
  { 'index.name.f': { $regex: '^smi', $options: 'i' } },
  { 'index.name.f': /^smi/ },
  { 'index.name.e': { $in: ['Smith', 'Jo'] } },
  { 'index.name__sort_asc': { $gt: 'o' } },
  { 'index.name__sort_asc': { $lt: 'o\u{1F600}' } },
  { 'index.name__sort_asc': null },
  { 'index.name__sort_asc': { $ne: null } },
  { 'index.name__sort_asc': { $in: [null, 'smithers'] } },
  { 'index.gender': null },
  { 'index.gender': { $exists: true } },
  { 'index.gender': { $exists: false } },
  { 'index.gender.c': 'male' },
  { 'index.gender.c': null },
  { 'index.gender': { $elemMatch: { s: 'http://g', c: 'male' } } },
  { 'index.gender': { $not: { $elemMatch: { c: 'male' } } } },
  { 'index.identifier': { $elemMatch: { s: 'urn:mrn', c: '1' } } },
  { 'index.identifier.ty': { $elemMatch: { c: 'MR' } } },
  { 'index.identifier.ty.c': 'MR' },
  { 'index.value.v': { $gt: 4 } },
  { 'index.value.v': { $gte: 2, $lt: 6 } },
  { 'index.value.v': { $lt: '2' } },
  { 'index.value.v': '12' },
  { 'index.value': { $elemMatch: { v: { $gte: 2, $lt: 6 } } } },
  { 'index.birthdate': { $elemMatch: { $or: [{ hi: { $gt: '1985-12-31T23:59:59.999Z' } }, { lo: { $gte: '1985-01-01T00:00:00.000Z' }, hi: { $lte: '1985-12-31T23:59:59.999Z' } }] } } },
  { 'index.tags': 'a' },
  { 'index.tags': { $all: ['a', 'b'] } },
  { 'index.flag': true },
  { 'index.subject.r': { $in: ['Patient/1', 'Group/1'] } },
  { $or: [{ 'index.subject.i': '1' }, { 'index.tags': 'a' }] },
  { $or: [{ 'index.subject.i': '1' }, { 'index.tags': { $size: 2 } }] },
  { $and: [{ resourceType: 'Patient' }, { $or: [{ 'index.name__sort_asc': { $gt: 'p' } }, { 'index.name__sort_asc': 'jo smith', id: { $gt: 'r0' } }] }] },
  { $nor: [{ 'index.tags': 'a' }] },
  { 'index.unknown.x': 'y' },
  ...['part', 'empty', 'blank', 'bools', 'flag'].flatMap((key): Filter[] => [
    { [`index.${key}`]: null },
    { [`index.${key}`]: { $ne: null } },
    { [`index.${key}`]: { $exists: true } },
    { [`index.${key}`]: { $exists: false } },
  ]),
  { 'index.unknown': null },
  { 'index.unknown': { $exists: true } },
];

let dir: string;
let store: StorePort;
let records: StoredRecord[];

beforeAll(async () => {
  dir = await tempDir();
  store = createEmbeddedStore({ dir });
  await store.open();
  records = INDEXES.map((index, i) => ({
    resourceType: i % 3 === 2 ? 'Observation' : 'Patient',
    id: `r${i}`,
    versionId: 1,
    lastUpdated: `2024-01-0${(i % 9) + 1}T00:00:00.000Z`,
    deleted: false,
    resource: { resourceType: i % 3 === 2 ? 'Observation' : 'Patient', id: `r${i}` } as StoredRecord['resource'],
    ...(index ? { index } : {}),
  }));
  for (const record of records) await store.commit([{ record, expectedVersion: 0 }]);
});

afterAll(async () => {
  await store?.close();
  await removeDir(dir);
});

describe('embedded store: query documents answered as mingo answers them', () => {
  it.each(FILTERS.map((filter) => ({ filter, label: JSON.stringify(filter) })))('$label', async ({ filter }) => {
    const expected = records.filter((r) => new Query(filter).test(r as unknown as Record<string, unknown>)).map((r) => r.id).sort();
    const found = (await store.find('current', filter)).map((r) => r.id).sort();
    expect(found).toEqual(expected);
    expect(await store.count('current', filter)).toBe(expected.length);
    expect((await store.find('history', filter)).map((r) => r.id).sort()).toEqual(expected);
  });

  it('sorts by a search value as MongoDB does: smallest ascending, largest descending, missing as null', async () => {
    const ids = async (sort: Record<string, 1 | -1>) => (await store.find('current', {}, { sort: { ...sort, id: 1 } })).map((r) => r.id);
    const reference = (direction: 1 | -1) =>
      records
        .map((r) => ({ id: r.id, key: (r.index?.name__sort_asc as string | null | undefined) ?? null }))
        .sort((a, b) => (a.key === b.key ? (a.id < b.id ? -1 : 1) : a.key === null ? -direction : b.key === null ? direction : a.key < b.key ? -direction : direction))
        .map((r) => r.id);
    expect(await ids({ 'index.name__sort_asc': 1 })).toEqual(reference(1));
    expect(await ids({ 'index.name__sort_asc': -1 })).toEqual(reference(-1));
  });
  it('answers an array inside an array as mingo does, and everything else still right, once such a version exists', async () => {
    const odd: StoredRecord = { resourceType: 'Patient', id: 'odd', versionId: 1, lastUpdated: '2024-02-01T00:00:00.000Z', deleted: false, index: { nested: [['x']], tags: 'a' } };
    const all = [...records, odd];
    await store.commit([{ record: odd, expectedVersion: 0 }]);
    for (const filter of [{ 'index.nested': 'x' }, { 'index.nested': { $exists: true } }, { 'index.tags': 'a' }, { 'index.name.f': { $regex: '^smi' } }] as Filter[]) {
      const expected = all.filter((r) => new Query(filter).test(r as unknown as Record<string, unknown>)).map((r) => r.id).sort();
      expect((await store.find('current', filter)).map((r) => r.id).sort()).toEqual(expected);
      expect(await store.count('current', filter)).toBe(expected.length);
    }
  });

});

describe('embedded store: keys some types keep out of the search-value table (issue 14) answer the same', () => {
  // Observation records keep these keys in the record only: entries, a sort scalar, presence-only keys.
  const unindexed = { Observation: ['name', 'name__sort_asc', 'gender', 'part', 'flag', 'value'] };
  let sparseDir: string;
  let sparse: StorePort;
  const expectSame = async (target: StorePort, filter: Filter): Promise<void> => {
    const expected = records.filter((r) => new Query(filter).test(r as unknown as Record<string, unknown>)).map((r) => r.id).sort();
    expect((await target.find('current', filter)).map((r) => r.id).sort()).toEqual(expected);
    expect(await target.count('current', filter)).toBe(expected.length);
  };
  // The full store also holds the irregular version `odd` another test added.
  const sortedIds = async (target: StorePort, filter: Filter, direction: 1 | -1) => (await target.find('current', filter, { sort: { 'index.name__sort_asc': direction, id: 1 } })).map((r) => r.id).filter((id) => id !== 'odd');
  const groups = async (target: StorePort, filter: Filter) => (await target.groupCount!('current', filter, 'index.gender.c')).sort((a, b) => String(a.value).localeCompare(String(b.value)));

  beforeAll(async () => {
    sparseDir = await tempDir();
    sparse = createEmbeddedStore({ dir: sparseDir, unindexed });
    await sparse.open();
    for (const record of records) await sparse.commit([{ record, expectedVersion: 0 }]);
  });
  afterAll(async () => {
    await sparse?.close();
    await removeDir(sparseDir);
  });

  it.each(FILTERS.map((filter) => ({ filter, label: JSON.stringify(filter) })))('$label, across types and pinned to each', async ({ filter }) => {
    await expectSame(sparse, filter);
    await expectSame(sparse, { $and: [{ resourceType: 'Observation', deleted: false }, filter] });
    await expectSame(sparse, { resourceType: { $in: ['Patient'] }, $and: [filter] });
  });

  it('sorts and groups by such a key as the full index does, and so does a later opener without the setting', async () => {
    for (const filter of [{}, { resourceType: 'Observation' }] as Filter[]) {
      for (const direction of [1, -1] as const) expect(await sortedIds(sparse, filter, direction)).toEqual(await sortedIds(store, filter, direction));
      expect(await groups(sparse, filter)).toEqual(await groups(store, filter));
    }
    await sparse.close();
    sparse = createEmbeddedStore({ dir: sparseDir });
    await sparse.open();
    await expectSame(sparse, { 'index.name.f': 'smith' });
    await expectSame(sparse, { 'index.gender': null });
    expect(await sortedIds(sparse, {}, -1)).toEqual(await sortedIds(store, {}, -1));
  });
});
