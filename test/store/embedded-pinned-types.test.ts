import { describe, expect, it } from 'vitest';
import { keysetFilter } from '../../src/search/keyset.js';
import { everyLive, pinnedTypes } from '../../src/store/embedded/pinned-types.js';
import { record, seed } from './contract-support.js';
import { openStore, removeDir, tempDir } from './embedded-support.js';

/** The types a filter pins decide which path ids a query reads (issue 13): a keyset page nests its search's filter. */
describe('pinnedTypes', () => {
  const search = { $and: [{ resourceType: 'Patient', deleted: false }, {}] };
  it.each([
    ['a type at the top', { resourceType: 'Patient' }, ['Patient']],
    ['types in an $and', { $and: [{ resourceType: { $in: ['Patient', 'Group'] } }, { resourceType: 'Group' }] }, ['Group']],
    ["a keyset page's filter: the search's inside an $and with the position", { $and: [search, keysetFilter([{ field: 'index.x', direction: 1 }], ['a'], true)] }, ['Patient']],
    ['deeper $ands', { $and: [{ $and: [{ $and: [{ resourceType: 'Slot' }] }] }] }, ['Slot']],
    ['a type under $or only (not pinned)', { $or: [{ resourceType: 'Patient' }, { resourceType: 'Group' }] }, undefined],
    ['no type', { deleted: false }, undefined],
  ])('%s', (_, filter, expected) => {
    const pinned = pinnedTypes(filter);
    expect(pinned && [...pinned].sort()).toEqual(expected);
  });
});

describe('everyLive: a filter asking for every live record of one type', () => {
  it.each([
    ['the plain filter', { resourceType: 'Patient', deleted: false }, 'Patient'],
    ["a search's, with an empty criterion", { $and: [{ resourceType: 'Patient', deleted: false }, {}] }, 'Patient'],
    ['nested', { $and: [{ $and: [{ resourceType: 'Patient' }] }, { deleted: false }] }, 'Patient'],
    ['deleted ones too', { resourceType: 'Patient' }, undefined],
    ['a criterion besides', { resourceType: 'Patient', deleted: false, 'index.gender.c': 'male' }, undefined],
    ['two types', { $and: [{ resourceType: 'Patient', deleted: false }, { resourceType: 'Group' }] }, undefined],
    ['types by $in', { resourceType: { $in: ['Patient'] }, deleted: false }, undefined],
    ['a keyset position', { $and: [{ resourceType: 'Patient', deleted: false }, { id: { $gt: 'p1' } }] }, undefined],
  ])('%s', (_, filter, expected) => {
    expect(everyLive(filter)).toBe(expected);
  });

  it('is counted once per write of the type: creates, deletes and purges change it', async () => {
    const dir = await tempDir();
    try {
      const { store } = await openStore(dir);
      const live = { $and: [{ resourceType: 'Patient', deleted: false }, {}] };
      await seed(store, [record('Patient', 'a'), record('Patient', 'b'), record('Group', 'g')]);
      expect(await store.count('current', live)).toBe(2);
      expect(await store.count('current', live)).toBe(2);
      await seed(store, [record('Patient', 'c')]);
      expect(await store.count('current', live)).toBe(3);
      await store.commit([{ record: record('Patient', 'a', { versionId: 2, deleted: true }), expectedVersion: 1 }]);
      expect(await store.count('current', live)).toBe(2);
      await store.purge!([{ resourceType: 'Patient', id: 'b' }]);
      expect(await store.count('current', live)).toBe(1);
      expect((await store.findCounted!('current', live, { sort: { id: 1 }, limit: 1 })).total).toBe(1);
      await store.close();
    } finally {
      await removeDir(dir);
    }
  });
});
