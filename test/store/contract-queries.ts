import { beforeEach, describe, expect, it } from 'vitest';
import { findCountedOf, type Filter } from '../../src/store/port.js';
import { idSet, record, seed, type FreshStore } from './contract-support.js';

/**
 * Live patients, one tombstone and an observation. Index values are arrays where search
 * parameters can repeat, as the extractor produces them.
 */
const PATIENTS = [
  record('Patient', 'p1', {
    resource: { active: true, name: [{ family: 'Smith', given: ['Anna'] }] },
    index: { family: ['smith'], birthdate: '1980-05-01', gender: 'female', active: true, identifier: [{ system: 'urn:mrn', value: '100' }, { system: 'urn:ssn', value: 'A' }] },
  }),
  record('Patient', 'p2', {
    resource: { active: false, name: [{ family: 'Jones' }] },
    index: { family: ['jones'], birthdate: '1990-01-15', gender: 'male', active: false, identifier: [{ system: 'urn:mrn', value: '200' }] },
  }),
  record('Patient', 'p3', {
    resource: { active: true, name: [{ family: 'Smithers' }, { family: 'Jones' }] },
    index: { family: ['smithers', 'jones'], birthdate: '2001-12-31T23:00:00Z', active: true, identifier: [{ system: 'urn:ssn', value: '100' }] },
  }),
  record('Patient', 'p4', { resource: { name: [{ family: 'Brown' }] }, index: { family: ['brown'], gender: 'other', identifier: [] } }),
  record('Patient', 'p5', { resource: { name: [{ family: 'Adams' }] }, index: { family: [], birthdate: '1980-05-01', gender: 'female', identifier: [] } }),
];
const TOMBSTONE = record('Patient', 'gone', { versionId: 2, deleted: true });
const OBSERVATION = record('Observation', 'o1', { index: { subject: ['Patient/p1'], date: '2020-01-01T10:00:00.000Z' } });
const LIVE_PATIENTS: Filter = { resourceType: 'Patient', deleted: false };

/** MongoDB query and sort semantics on `resource.*` and `index.*`. */
export function describeQueryContract(ctx: FreshStore): void {
  const ids = async (filter: Filter): Promise<string[]> => {
    const found = idSet(await ctx.store.find('current', filter));
    expect(await ctx.store.count('current', filter)).toBe(found.length);
    return found;
  };
  const live = (filter: Filter): Filter => ({ ...LIVE_PATIENTS, ...filter });

  describe('queries', () => {
    beforeEach(async () => {
      await seed(ctx.store, [...PATIENTS, record('Patient', 'gone'), TOMBSTONE, OBSERVATION]);
    });

    it('scopes by resourceType and deleted', async () => {
      expect(await ids({ resourceType: 'Patient' })).toEqual(['gone', 'p1', 'p2', 'p3', 'p4', 'p5']);
      expect(await ids(LIVE_PATIENTS)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
      expect(await ids({ resourceType: { $in: ['Observation', 'Encounter'] } })).toEqual(['o1']);
      expect(await ids({ resourceType: 'Patient', id: 'p1', 'index.family': 'nobody' })).toEqual([]);
      expect(await ctx.store.count('history', { resourceType: 'Patient', id: 'gone' })).toBe(2);
    });

    it('scopes by resourceType given as a conjunct of $and, as search filters are written', async () => {
      expect(await ids({ $and: [{ resourceType: 'Patient' }, { deleted: false }] })).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
      expect(await ids({ $and: [{ resourceType: { $eq: 'Patient' } }, { $or: [{ id: 'p2' }, { id: 'o1' }] }] })).toEqual(['p2']);
      expect(await ids({ $and: [{ $and: [{ resourceType: 'Observation' }] }, { id: 'o1' }] })).toEqual(['o1']);
      expect(await ids({ $and: [{ resourceType: 'Patient' }, { resourceType: 'Observation' }] })).toEqual([]);
    });

    it('answers reads by id the same however the filter spells them', async () => {
      const p1 = await ctx.store.find('current', { resourceType: 'Patient', id: 'p1' });
      expect(p1).toHaveLength(1);
      expect(await ctx.store.find('current', { resourceType: { $eq: 'Patient' }, id: { $eq: 'p1' } })).toEqual(p1);
      expect(await ctx.store.find('current', { $and: [{ resourceType: 'Patient' }, { id: 'p1' }] })).toEqual(p1);
      expect(await ctx.store.find('current', { id: 'p1' })).toEqual(p1);
      expect(await ctx.store.find('current', { resourceType: 'Patient', id: { $in: ['p1'] } })).toEqual(p1);
      expect(await ctx.store.find('history', { resourceType: 'Patient', id: 'gone', versionId: { $gte: 2 } })).toMatchObject([{ versionId: 2 }]);
      expect(await ctx.store.find('history', { resourceType: 'Patient', id: 'gone', versionId: '2' })).toEqual([]);
    });

    it('matches equality against any element of an array', async () => {
      expect(await ids({ 'index.family': 'jones' })).toEqual(['p2', 'p3']);
      expect(await ids({ 'index.family': { $eq: 'smith' } })).toEqual(['p1']);
      expect(await ids({ 'resource.name.family': 'Jones' })).toEqual(['p2', 'p3']);
      expect(await ids({ 'index.subject': 'Patient/p1' })).toEqual(['o1']);
      expect(await ids({ 'index.active': false })).toEqual(['p2']);
      expect(await ids({ 'resource.active': true })).toEqual(['p1', 'p3']);
    });

    it('applies $ne and $nin to every element, and matches missing fields', async () => {
      expect(await ids(live({ 'index.family': { $ne: 'jones' } }))).toEqual(['p1', 'p4', 'p5']);
      expect(await ids(live({ 'index.gender': { $ne: 'female' } }))).toEqual(['p2', 'p3', 'p4']);
      expect(await ids(live({ 'index.gender': { $nin: ['female', 'male'] } }))).toEqual(['p3', 'p4']);
    });

    it('evaluates $in, including null for missing fields', async () => {
      expect(await ids({ 'index.gender': { $in: ['male', 'other'] } })).toEqual(['p2', 'p4']);
      expect(await ids({ 'index.family': { $in: ['brown', 'smithers'] } })).toEqual(['p3', 'p4']);
      expect(await ids(live({ 'index.gender': { $in: [null] } }))).toEqual(['p3']);
    });

    it('evaluates $exists', async () => {
      expect(await ids(live({ 'index.birthdate': { $exists: false } }))).toEqual(['p4']);
      expect(await ids(live({ 'index.birthdate': { $exists: true } }))).toEqual(['p1', 'p2', 'p3', 'p5']);
      expect(await ids({ resourceType: 'Patient', resource: { $exists: false } })).toEqual(['gone']);
      expect(await ids(live({ 'index.identifier.0': { $exists: false } }))).toEqual(['p4', 'p5']);
    });

    it('compares ISO date strings with range operators', async () => {
      expect(await ids({ 'index.birthdate': { $gte: '1980-05-01', $lt: '1990-01-16' } })).toEqual(['p1', 'p2', 'p5']);
      expect(await ids({ 'index.birthdate': { $gt: '1990-01-15' } })).toEqual(['p3']);
      expect(await ids({ 'index.birthdate': { $lte: '1980-05-01' } })).toEqual(['p1', 'p5']);
      expect(await ids({ 'index.date': { $gte: '2020-01-01T00:00:00.000Z', $lt: '2020-01-02' } })).toEqual(['o1']);
      // Type bracketing: a string bound never matches other types (here: booleans).
      expect(await ids({ 'index.active': { $gte: '' } })).toEqual([]);
    });

    it('combines conditions with $and, $or and $not', async () => {
      expect(await ids({ $or: [{ 'index.gender': 'male' }, { 'index.family': 'brown' }] })).toEqual(['p2', 'p4']);
      expect(await ids({ $and: [{ 'index.family': 'smithers' }, { 'index.family': 'jones' }] })).toEqual(['p3']);
      expect(await ids(live({ 'index.birthdate': { $not: { $lt: '1990' } } }))).toEqual(['p2', 'p3', 'p4']);
      expect(await ids({ $and: [LIVE_PATIENTS, { $or: [{ 'index.active': true }, { 'index.gender': 'other' }] }] })).toEqual(['p1', 'p3', 'p4']);
    });

    it('matches one array element on all conditions with $elemMatch', async () => {
      expect(await ids({ 'index.identifier': { $elemMatch: { system: 'urn:mrn', value: '100' } } })).toEqual(['p1']);
      expect(await ids({ 'index.identifier': { $elemMatch: { value: { $in: ['100', '200'] } } } })).toEqual(['p1', 'p2', 'p3']);
      // Without $elemMatch, each condition may be met by a different element.
      expect(await ids({ 'index.identifier.system': 'urn:ssn', 'index.identifier.value': '100' })).toEqual(['p1', 'p3']);
    });

    it('matches $regex, as a string with options and as a RegExp', async () => {
      expect(await ids({ 'resource.name.family': { $regex: '^Smith' } })).toEqual(['p1', 'p3']);
      expect(await ids({ 'resource.name.family': { $regex: '^smith$', $options: 'i' } })).toEqual(['p1']);
      expect(await ids({ 'index.family': { $regex: /^sm/ } })).toEqual(['p1', 'p3']);
    });
  });

  describe('sort and limit', () => {
    const order = async (sort: Record<string, 1 | -1>, filter: Filter = LIVE_PATIENTS, limit?: number): Promise<string[]> =>
      (await ctx.store.find('current', filter, { sort, limit })).map((r) => r.id);

    beforeEach(async () => {
      await seed(ctx.store, [...PATIENTS, record('Patient', 'gone'), TOMBSTONE, OBSERVATION]);
    });

    it('sorts on several keys, ascending and descending', async () => {
      expect(await order({ 'index.gender': 1, id: -1 })).toEqual(['p3', 'p5', 'p1', 'p2', 'p4']);
      expect(await order({ 'index.birthdate': -1, id: 1 })).toEqual(['p3', 'p2', 'p1', 'p5', 'p4']);
      expect(await order({ 'index.birthdate': 1, id: -1 })).toEqual(['p4', 'p5', 'p1', 'p2', 'p3']);
    });

    it('sorts arrays by their smallest element ascending and largest descending, empty arrays first', async () => {
      // p1 [smith], p2 [jones], p3 [smithers, jones], p4 [brown], p5 [] (lowest of all)
      expect(await order({ 'index.family': 1, id: 1 })).toEqual(['p5', 'p4', 'p2', 'p3', 'p1']);
      expect(await order({ 'index.family': -1, id: 1 })).toEqual(['p3', 'p1', 'p2', 'p4', 'p5']);
    });

    it('sorts missing fields like null: first ascending, last descending', async () => {
      expect(await order({ 'index.gender': 1, id: 1 })).toEqual(['p3', 'p1', 'p5', 'p2', 'p4']);
      expect(await order({ 'index.gender': -1, id: 1 })).toEqual(['p4', 'p2', 'p1', 'p5', 'p3']);
      expect(await order({ 'index.nothing': 1, id: 1 })).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    });

    it('limits after sorting', async () => {
      expect(await order({ id: -1 }, LIVE_PATIENTS, 2)).toEqual(['p5', 'p4']);
      expect(await ctx.store.find('current', LIVE_PATIENTS, { limit: 3 })).toHaveLength(3);
      expect(await ctx.store.find('history', { resourceType: 'Patient', id: 'gone' }, { sort: { versionId: -1 }, limit: 1 })).toMatchObject([{ versionId: 2, deleted: true }]);
    });

    it('reads the same records for their identity only (identityOnly: a join\'s candidates), resource and index left out or not', async () => {
      const identity = ({ resourceType, id, versionId, lastUpdated, deleted }: { resourceType: string; id: string; versionId: number; lastUpdated: string; deleted: boolean }) => ({ resourceType, id, versionId, lastUpdated, deleted });
      const cases: Array<[Filter, Record<string, 1 | -1>, number | undefined]> = [
        [LIVE_PATIENTS, { id: 1 }, 3],
        [live({ 'index.family': { $in: ['jones', 'smith'] } }), { id: -1 }, 2],
        [live({ 'resource.name.family': { $regex: '^Smith' } }), { id: 1 }, undefined], // re-checked on the records
        [{ resourceType: 'Patient' }, { id: 1 }, undefined], // the tombstone too
      ];
      for (const [filter, sort, limit] of cases) {
        const full = await ctx.store.find('current', filter, { sort, limit });
        const only = await ctx.store.find('current', filter, { sort, limit, identityOnly: true });
        expect(only.map(identity)).toEqual(full.map(identity));
        for (const record of only) for (const key of Object.keys(record)) expect(['resourceType', 'id', 'versionId', 'lastUpdated', 'deleted', 'resource', 'index']).toContain(key);
      }
    });

    it('counts every match with a page as find and count answer them (findCounted, a search\'s first page and _total)', async () => {
      const cases: Array<[Filter, Record<string, 1 | -1>, number | undefined]> = [
        [LIVE_PATIENTS, { id: 1 }, 2], // walking the records in sort order
        [live({ 'index.family': { $in: ['jones', 'smith', 'brown'] } }), { id: -1 }, 2], // started from the search-value index
        [live({ 'index.family': { $in: ['jones', 'smith', 'brown'] } }), { 'index.birthdate': 1, id: 1 }, 3],
        [live({ 'index.gender': 'female' }), { id: 1 }, 5], // the page holds every match
        [live({ 'index.family': 'nobody' }), { id: 1 }, 2], // no match
        [live({ 'index.family': 'jones' }), { id: 1 }, undefined], // no limit
        [live({ 'resource.name.family': { $regex: '^Smith' } }), { id: 1 }, 1], // re-checked on the records
        [{ $and: [live({ 'index.family': { $in: ['jones', 'smith', 'brown'] } }), { id: { $gt: 'p1' } }] }, { id: 1 }, 1],
      ];
      for (const [filter, sort, limit] of cases) {
        const { records, total } = await findCountedOf(ctx.store, 'current', filter, { sort, limit });
        expect(records).toEqual(await ctx.store.find('current', filter, { sort, limit }));
        expect(total).toBe(await ctx.store.count('current', filter));
      }
    });
  });

  describe('keyset paging', () => {
    it('walks a sorted result page by page without duplicates or gaps', async () => {
      const observations = Array.from({ length: 23 }, (_, i) =>
        record('Observation', `o${String(i).padStart(2, '0')}`, { index: { date: `2024-03-${String(10 + (i % 7)).padStart(2, '0')}`, code: ['x'] } }),
      );
      await seed(ctx.store, [...observations, record('Patient', 'p1', { index: { date: '2024-03-12' } })]);
      for (const direction of [1, -1] as const) {
        const base: Filter = { resourceType: 'Observation', 'index.code': 'x' };
        const sort = { 'index.date': direction, id: direction };
        const everything = (await ctx.store.find('current', base, { sort })).map((r) => r.id);
        const seen: string[] = [];
        let after: { date: string; id: string } | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const beyond = direction === 1 ? '$gt' : '$lt';
          const filter = after ? { $and: [base, { $or: [{ 'index.date': { [beyond]: after.date } }, { 'index.date': after.date, id: { [beyond]: after.id } }] }] } : base;
          const page = await ctx.store.find('current', filter, { sort, limit: 4 });
          if (page.length === 0) break;
          seen.push(...page.map((r) => r.id));
          const last = page[page.length - 1];
          after = { date: (last.index as { date: string }).date, id: last.id };
        }
        expect(everything).toHaveLength(23);
        expect(seen).toEqual(everything);
      }
    });
  });
}
