import { describe, expect, it } from 'vitest';
import { keysetFilter } from '../../src/search/keyset.js';
import { pinnedTypes } from '../../src/store/embedded/pinned-types.js';

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
