import { beforeEach, describe, expect, it } from 'vitest';
import type { Filter, StoredRecord } from '../../src/store/port.js';
import { record, seed, type FreshStore } from './contract-support.js';

/**
 * A resource whose search values change from version to version (issue 17: the embedded store
 * keeps the values of a resource's current version, and rewrites only those a new version
 * changes). `current` queries see the current version's values only; `history` queries see each
 * version's own, including values that went away and came back.
 */
const SLOT = [
  record('Slot', 's1', { versionId: 1, index: { status: ['free'], start: '2030-01-01T09:00:00Z', schedule: ['Schedule/a'], comment: 'first' } }),
  record('Slot', 's1', { versionId: 2, index: { status: ['busy'], start: '2030-01-01T09:00:00Z', schedule: ['Schedule/a'], comment: null } }),
  record('Slot', 's1', { versionId: 3, index: { status: ['busy', 'tentative'], start: '2030-01-01T09:00:00Z', schedule: ['Schedule/a'] } }),
  record('Slot', 's1', { versionId: 4, index: { status: ['free'], start: '2030-01-01T10:00:00Z', schedule: ['Schedule/a'], comment: 'back' } }),
];
/** A resource that keeps one value, beside it. */
const OTHER = record('Slot', 's2', { index: { status: ['busy'], start: '2030-01-01T09:00:00Z', schedule: ['Schedule/b'] } });

export function describeVersionValuesContract(ctx: FreshStore): void {
  const versions = async (filter: Filter): Promise<string[]> => {
    const found = await ctx.store.find('history', filter, { sort: { id: 1, versionId: 1 } });
    expect(await ctx.store.count('history', filter)).toBe(found.length);
    return found.map((r: StoredRecord) => `${r.id}/${r.versionId}`);
  };
  const current = async (filter: Filter): Promise<string[]> => (await ctx.store.find('current', filter, { sort: { id: 1 } })).map((r) => r.id);

  describe('search values across versions', () => {
    beforeEach(async () => {
      await seed(ctx.store, [...SLOT, OTHER]);
    });

    it('matches current records on the values of their current version only', async () => {
      expect(await current({ 'index.status': 'free' })).toEqual(['s1']);
      expect(await current({ 'index.status': 'busy' })).toEqual(['s2']);
      expect(await current({ 'index.status': 'tentative' })).toEqual([]);
      expect(await current({ 'index.start': { $gte: '2030-01-01T10:00:00Z' } })).toEqual(['s1']);
      expect(await current({ 'index.comment': 'first' })).toEqual([]);
      expect(await current({ 'index.comment': null })).toEqual(['s2']);
      expect(await current({ 'index.comment': { $exists: true } })).toEqual(['s1']);
      expect(await ctx.store.count('current', { resourceType: 'Slot', 'index.schedule': 'Schedule/a' })).toBe(1);
    });

    it('matches each version of the history on its own values', async () => {
      expect(await versions({ 'index.status': 'free' })).toEqual(['s1/1', 's1/4']);
      expect(await versions({ 'index.status': 'busy' })).toEqual(['s1/2', 's1/3', 's2/1']);
      expect(await versions({ resourceType: 'Slot', 'index.status': { $in: ['tentative', 'free'] } })).toEqual(['s1/1', 's1/3', 's1/4']);
      expect(await versions({ 'index.start': { $lt: '2030-01-01T10:00:00Z' }, 'index.schedule': 'Schedule/a' })).toEqual(['s1/1', 's1/2', 's1/3']);
      expect(await versions({ $or: [{ 'index.comment': 'first' }, { 'index.schedule': 'Schedule/b' }] })).toEqual(['s1/1', 's2/1']);
      expect(await versions({ 'index.comment': null })).toEqual(['s1/2', 's1/3', 's2/1']);
      expect(await versions({ 'index.comment': { $exists: false } })).toEqual(['s1/3', 's2/1']);
      expect(await versions({ 'index.status': { $regex: '^tent' } })).toEqual(['s1/3']);
    });

    it('sorts and pages the history on search values of each version', async () => {
      const found = await ctx.store.find('history', { resourceType: 'Slot' }, { sort: { 'index.start': -1, id: 1, versionId: 1 }, limit: 2 });
      expect(found.map((r) => `${r.id}/${r.versionId}`)).toEqual(['s1/4', 's1/1']);
    });

    it('forgets a value a rewrite of an earlier version took away, and finds the one it brought', async () => {
      if (!ctx.store.rewrite) return;
      await ctx.store.rewrite([{ ...SLOT[0], index: { ...SLOT[0].index, status: ['proposed'] } }]);
      expect(await versions({ 'index.status': 'free' })).toEqual(['s1/4']);
      expect(await versions({ 'index.status': 'proposed' })).toEqual(['s1/1']);
      expect(await current({ 'index.status': 'free' })).toEqual(['s1']);
      expect(await current({ 'index.status': 'proposed' })).toEqual([]);
      await ctx.store.rewrite([{ ...SLOT[3], index: { ...SLOT[3].index, status: ['blocked'] } }]);
      expect(await current({ 'index.status': 'free' })).toEqual([]);
      expect(await current({ 'index.status': 'blocked' })).toEqual(['s1']);
      expect(await versions({ 'index.status': 'blocked' })).toEqual(['s1/4']);
    });

    it('keeps a deleted resource matching as its tombstone, and a purged one nowhere', async () => {
      await seed(ctx.store, [record('Slot', 's2', { versionId: 2, deleted: true, index: OTHER.index })]);
      expect(await current({ 'index.schedule': 'Schedule/b', deleted: true })).toEqual(['s2']);
      expect(await current({ 'index.schedule': 'Schedule/b', deleted: false })).toEqual([]);
      if (!ctx.store.purge) return;
      await ctx.store.purge([{ resourceType: 'Slot', id: 's1' }]);
      expect(await versions({ 'index.schedule': 'Schedule/a' })).toEqual([]);
      expect(await versions({ 'index.status': 'busy' })).toEqual(['s2/1', 's2/2']);
      // A resource created again after its purge starts with its own values only.
      await seed(ctx.store, [record('Slot', 's1', { index: { status: ['waitlist'] } })]);
      expect(await versions({ 'index.status': { $in: ['free', 'waitlist'] } })).toEqual(['s1/1']);
    });
  });
}
