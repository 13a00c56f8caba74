import { describe, expect, it } from 'vitest';
import { keysetFilter } from '../../src/search/keyset.js';
import { valueBound } from '../../src/store/embedded/value-bound.js';

/** What a filter says of one path, for a walk of its rows in order (issue 13, src/store/embedded/value-bound.ts). */
const P = 'index.family__sort_asc';
const typed = (criteria: object) => ({ $and: [{ resourceType: 'Patient', deleted: false }, criteria] });

describe('valueBound', () => {
  it.each([
    ['a keyset position, ascending: from its value, no record without one', keysetFilter([{ field: P, direction: 1 }, { field: 'id', direction: 1 }], ['Lind', 'p9'], true), true, { bound: 'Lind', rows: true, missing: false }],
    ['a keyset position, descending: down from its value, and every record without one', keysetFilter([{ field: P, direction: -1 }, { field: 'id', direction: 1 }], ['Lind', 'p9'], true), false, { bound: 'Lind', rows: true, missing: true }],
    ['the page before an ascending one (walked descending)', keysetFilter([{ field: P, direction: 1 }, { field: 'id', direction: 1 }], ['Lind', 'p9'], false), false, { bound: 'Lind', rows: true, missing: true }],
    ['a keyset position on a record without a value, ascending: every value, and the rest of those without', keysetFilter([{ field: P, direction: 1 }, { field: 'id', direction: 1 }], [null, 'p9'], true), true, { rows: true, missing: true }],
    ['nothing on the path', { 'index.gender.c': 'female' }, true, { rows: true, missing: true }],
    ['an equality', { [P]: 'Lind' }, false, { bound: 'Lind', rows: true, missing: false }],
    ['the tighter of two bounds', { $and: [{ [P]: { $gte: 'B' } }, { [P]: { $gt: 'D' } }] }, true, { bound: 'D', rows: true, missing: false }],
    ['the looser of two alternatives', { $or: [{ [P]: { $gte: 'B' } }, { [P]: 'D' }] }, true, { bound: 'B', rows: true, missing: false }],
    ['an alternative without a bound', { $or: [{ [P]: { $gte: 'B' } }, { 'index.x': 1 }] }, true, { rows: true, missing: true }],
    ['an upper bound asked for a lower one', { [P]: { $lt: 'D' } }, true, { rows: true, missing: false }],
    ['alternatives of two kinds', { $or: [{ [P]: { $gt: 'B' } }, { [P]: { $gt: 3 } }] }, true, { rows: true, missing: false }],
    ['only records without a value', { [P]: null }, true, { rows: false, missing: true }],
    ['an operator it does not read', { [P]: { $in: ['A', 'B'] } }, true, { rows: true, missing: true }],
  ])('%s', (_, criteria, lower, expected) => {
    expect(valueBound(typed(criteria), P, lower)).toEqual(expected);
  });
});
