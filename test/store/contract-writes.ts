import { describe, expect, it } from 'vitest';
import { revisionOf, StoreUnavailableError, VersionConflictError } from '../../src/store/port.js';
import { idSet, record, seed, writeOf, type FreshStore } from './contract-support.js';

/** Commits, version preconditions, atomicity, concurrency, tombstones, copies, lifecycle. */
export function describeWriteContract(ctx: FreshStore): void {
  describe('commit and read back', () => {
    it('finds the current record and every version', async () => {
      const v1 = record('Patient', 'a', { resource: { active: true } });
      const v2 = record('Patient', 'a', { versionId: 2, resource: { active: false } });
      await ctx.store.commit([writeOf(v1)]);
      await ctx.store.commit([writeOf(v2)]);
      expect(await ctx.store.find('current', { resourceType: 'Patient', id: 'a' })).toEqual([v2]);
      expect(await ctx.store.find('history', { resourceType: 'Patient', id: 'a' }, { sort: { versionId: 1 } })).toEqual([v1, v2]);
      expect(await ctx.store.find('history', { resourceType: 'Patient', id: 'a', versionId: 1 })).toEqual([v1]);
      expect(await ctx.store.find('current', { resourceType: 'Patient', id: 'b' })).toEqual([]);
      expect(await ctx.store.find('current', { resourceType: 'Group', id: 'a' })).toEqual([]);
      expect(await ctx.store.find('history', { resourceType: 'Patient', id: 'a', versionId: 3 })).toEqual([]);
    });

    it('makes every write of a commit visible together', async () => {
      await ctx.store.commit([writeOf(record('Patient', 'a')), writeOf(record('Observation', 'o', { index: { subject: 'Patient/a' } }))]);
      expect(await ctx.store.count('current', {})).toBe(2);
      expect(await ctx.store.count('history', {})).toBe(2);
    });

    it('changes the revision of a type on every committed version of it, and only then', async () => {
      const before = await revisionOf(ctx.store, 'Consent');
      const other = await revisionOf(ctx.store, 'Patient');
      await ctx.store.commit([writeOf(record('Consent', 'c'))]);
      const afterCreate = await revisionOf(ctx.store, 'Consent');
      expect(afterCreate).not.toBe(before);
      await ctx.store.commit([writeOf(record('Consent', 'c', { versionId: 2 }))]);
      const afterUpdate = await revisionOf(ctx.store, 'Consent');
      expect(afterUpdate).not.toBe(afterCreate);
      expect(await revisionOf(ctx.store, 'Patient')).toBe(other);
      // A refused commit changes nothing.
      const refused = await ctx.store.commit([{ record: record('Consent', 'c', { versionId: 3 }), expectedVersion: 0 }]).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(VersionConflictError);
      expect(await revisionOf(ctx.store, 'Consent')).toBe(afterUpdate);
    });

    it('accepts an empty commit', async () => {
      await ctx.store.commit([]);
      expect(await ctx.store.count('current', {})).toBe(0);
    });
  });

  describe('version preconditions', () => {
    it('creates with expectedVersion 0 and refuses a second create', async () => {
      await ctx.store.commit([writeOf(record('Patient', 'a'))]);
      const err = await ctx.store.commit([writeOf(record('Patient', 'a'))]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VersionConflictError);
      expect(err).toMatchObject({ resourceType: 'Patient', id: 'a', expected: 0, actual: 1 });
    });

    it('refuses a stale expectedVersion and stores nothing', async () => {
      await seed(ctx.store, [record('Patient', 'a'), record('Patient', 'a', { versionId: 2 })]);
      const stale = { record: record('Patient', 'a', { versionId: 3, resource: { active: true } }), expectedVersion: 1 };
      await expect(ctx.store.commit([stale])).rejects.toMatchObject({ name: 'VersionConflictError', expected: 1, actual: 2 });
      expect((await ctx.store.find('current', { resourceType: 'Patient', id: 'a' }))[0].versionId).toBe(2);
      expect(await ctx.store.count('history', { resourceType: 'Patient', id: 'a' })).toBe(2);
    });

    it('refuses an update of a resource that does not exist', async () => {
      await expect(ctx.store.commit([writeOf(record('Patient', 'a', { versionId: 2 }))])).rejects.toMatchObject({ expected: 1, actual: 0 });
      expect(await ctx.store.count('history', {})).toBe(0);
    });

    it('fails the whole commit when one of several writes conflicts', async () => {
      await seed(ctx.store, [record('Patient', 'a'), record('Patient', 'a', { versionId: 2 })]);
      const writes = [
        writeOf(record('Patient', 'new')),
        writeOf(record('Observation', 'o')),
        { record: record('Patient', 'a', { versionId: 3 }), expectedVersion: 1 },
      ];
      await expect(ctx.store.commit(writes)).rejects.toBeInstanceOf(VersionConflictError);
      expect(await ctx.store.count('current', {})).toBe(1);
      expect(await ctx.store.count('history', {})).toBe(2);
      expect(await ctx.store.find('history', { resourceType: 'Patient', id: 'new' })).toEqual([]);
    });

    it('lets exactly one of concurrent writers with the same expectedVersion win', async () => {
      await seed(ctx.store, [record('Patient', 'a')]);
      const attempts = Array.from({ length: 16 }, (_, i) => ({
        record: record('Patient', 'a', { versionId: 2, resource: { gender: `writer-${i}` } }),
        expectedVersion: 1,
      }));
      const results = await Promise.allSettled(attempts.map((w) => ctx.store.commit([w])));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(VersionConflictError);
      const [current] = await ctx.store.find('current', { resourceType: 'Patient', id: 'a' });
      expect(current.resource).toMatchObject({ gender: `writer-${winners[0]}` });
      expect(await ctx.store.count('history', { resourceType: 'Patient', id: 'a' })).toBe(2);
    });

    it('applies concurrent commits to different resources', async () => {
      const creates = Array.from({ length: 64 }, (_, i) => ctx.store.commit([writeOf(record('Patient', `p${i}`))]));
      await Promise.all(creates);
      expect(await ctx.store.count('current', { resourceType: 'Patient' })).toBe(64);
    });
  });

  describe('delete tombstones', () => {
    it('keeps a tombstone as the current record and allows re-creation on top of it', async () => {
      await seed(ctx.store, [record('Patient', 'a')]);
      const tombstone = record('Patient', 'a', { versionId: 2, deleted: true });
      await ctx.store.commit([writeOf(tombstone)]);
      const [current] = await ctx.store.find('current', { resourceType: 'Patient', id: 'a' });
      expect(current).toEqual(tombstone);
      expect(current.resource).toBeUndefined();
      expect(await ctx.store.count('current', { resourceType: 'Patient', deleted: false })).toBe(0);
      // The tombstone is a current record: a create expecting "nothing there" conflicts.
      await expect(ctx.store.commit([writeOf(record('Patient', 'a'))])).rejects.toMatchObject({ expected: 0, actual: 2 });
      await ctx.store.commit([writeOf(record('Patient', 'a', { versionId: 3 }))]);
      expect((await ctx.store.find('history', { resourceType: 'Patient', id: 'a' }, { sort: { versionId: 1 } })).map((r) => r.deleted)).toEqual([false, true, false]);
    });
  });

  describe('returned records are copies', () => {
    it('is not affected by mutating results or committed inputs', async () => {
      const input = record('Patient', 'a', { resource: { name: [{ family: 'Smith' }] }, index: { family: ['smith'] } });
      await ctx.store.commit([writeOf(input)]);
      (input.resource as unknown as { name: { family: string }[] }).name[0].family = 'Changed';
      const [first] = await ctx.store.find('current', { resourceType: 'Patient', id: 'a' });
      (first.resource as unknown as { name: { family: string }[] }).name[0].family = 'Mutated';
      (first.index as { family: string[] }).family.push('mutated');
      first.versionId = 99;
      const [fromHistory] = await ctx.store.find('history', { resourceType: 'Patient' });
      fromHistory.deleted = true;
      const [again] = await ctx.store.find('current', { resourceType: 'Patient', id: 'a' });
      expect(again.resource).toMatchObject({ name: [{ family: 'Smith' }] });
      expect(again).toMatchObject({ versionId: 1, deleted: false, index: { family: ['smith'] } });
      expect((await ctx.store.find('history', { 'index.family': 'smith' }))[0].deleted).toBe(false);
    });
  });

  describe('lifecycle', () => {
    it('answers ping while open and refuses work after close', async () => {
      expect(await ctx.store.ping()).toBe(true);
      await ctx.store.close();
      expect(await ctx.store.ping()).toBe(false);
      await expect(ctx.store.find('current', {})).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(ctx.store.count('current', {})).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(ctx.store.commit([writeOf(record('Patient', 'a'))])).rejects.toBeInstanceOf(StoreUnavailableError);
    });

    it('lets pending commits finish before close resolves', async () => {
      const pending = Array.from({ length: 20 }, (_, i) => ctx.store.commit([writeOf(record('Patient', `p${i}`))]));
      await ctx.store.close();
      await expect(Promise.all(pending)).resolves.toBeDefined();
      if (!ctx.fixture.reopen) return;
      const reopened = await ctx.fixture.reopen();
      expect(await reopened.count('current', {})).toBe(20);
    });

    it('keeps everything committed across a reopen', async (test) => {
      if (!ctx.fixture.reopen) return test.skip();
      const records = [
        record('Patient', 'a', { index: { family: ['smith'] } }),
        record('Patient', 'a', { versionId: 2, index: { family: ['jones'] } }),
        record('Patient', 'b'),
        record('Patient', 'b', { versionId: 2, deleted: true }),
        record('Observation', 'o', { index: { code: [{ system: 'http://loinc.org', code: '1234-5' }] } }),
      ];
      await seed(ctx.store, records);
      const before = { current: await ctx.store.find('current', {}, { sort: { resourceType: 1, id: 1 } }), history: await ctx.store.find('history', {}, { sort: { resourceType: 1, id: 1, versionId: 1 } }) };
      await ctx.store.close();
      const reopened = await ctx.fixture.reopen();
      expect(await reopened.find('current', {}, { sort: { resourceType: 1, id: 1 } })).toEqual(before.current);
      expect(await reopened.find('history', {}, { sort: { resourceType: 1, id: 1, versionId: 1 } })).toEqual(before.history);
      expect(idSet(before.history)).toHaveLength(5);
      // Preconditions still hold against the recovered state.
      await expect(reopened.commit([writeOf(record('Patient', 'a', { versionId: 2 }))])).rejects.toBeInstanceOf(VersionConflictError);
      await reopened.commit([writeOf(record('Patient', 'a', { versionId: 3 }))]);
    });
  });
}
