import { Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import { SMALL_DRIVER } from '../../src/store/embedded/driver-choice.js';
import { countRecords, findSql, type QueryContext } from '../../src/store/embedded/query.js';
import type { Filter, StoredRecord } from '../../src/store/port.js';
import { recordingQueryContext, storeHolding } from './embedded-support.js';

/**
 * Issue 13: which search-value driver a query starts from, and how many index entries its
 * estimates count, on skewed data: a practitioner with many appointments, one with few, a broad
 * and a narrow date range, one status on every appointment, and the parameters in either order.
 * Each case also answers exactly what mingo answers over the same records.
 */
const APPOINTMENTS = 1200;
const day = (i: number): string => new Date(Date.UTC(2024, 0, 1 + i)).toISOString();

function practitionerOf(i: number): string {
  if (i % 300 === 1) return 'few'; // 4 appointments
  return i % 2 === 0 ? 'many' : 'other'; // 600 and 596
}

const idOf = (i: number): string => `a${String(i).padStart(4, '0')}`;
const records: StoredRecord[] = Array.from({ length: APPOINTMENTS }, (_, i) => ({
  resourceType: 'Appointment',
  id: idOf(i),
  versionId: 1,
  lastUpdated: day(i),
  deleted: false,
  resource: { resourceType: 'Appointment', id: idOf(i) } as StoredRecord['resource'],
  index: { practitioner: [{ r: `Practitioner/${practitionerOf(i)}`, i: practitionerOf(i) }], date: [{ lo: day(i), hi: day(i) }], status: [{ c: 'booked' }] },
}));
const held = storeHolding(records);

const recordingContext = (): { ctx: QueryContext; counted: number[] } => recordingQueryContext(held.db());

const practitioner = (id: string): Filter => ({ 'index.practitioner.i': id });
const from = (i: number): Filter => ({ 'index.date.lo': { $gte: day(i) } });
const booked: Filter = { 'index.status.c': 'booked' };
const appointments = (...criteria: Filter[]): Filter => ({ $and: [{ resourceType: 'Appointment', deleted: false }, ...criteria] });

/** The path the query starts from: the driver sub-select `d` names its path id. */
function driverPath(ctx: QueryContext, filter: Filter): string | undefined {
  const { sql } = findSql(ctx, 'current', filter, { sort: { id: 1 }, limit: 21 }, true);
  const pid = /FROM \((?:SELECT DISTINCT rid FROM \()?SELECT rid FROM search_values WHERE pid = (\d+)/.exec(sql)?.[1];
  if (pid === undefined) return undefined;
  return held.db().prepare('SELECT path FROM paths WHERE pid = ?').pluck().get(Number(pid)) as string;
}

describe('embedded store: the driver a query starts from on skewed data (issue 13)', () => {
  it.each([
    // Both at least FIRST_ROUND: counted again up to DRIVER_LIMIT, the practitioner's 600 beat the date's 1200.
    { name: 'practitioner with 600, date from the start', criteria: [practitioner('many'), from(0)], driver: 'index.practitioner.i', counted: [128, 128, 600, 600] },
    { name: 'the same, date first', criteria: [from(0), practitioner('many')], driver: 'index.practitioner.i', counted: [128, 128, 1000, 600] },
    // A narrow date beats a busy practitioner, in either order, in the first round.
    { name: 'practitioner with 600, the last 10 days', criteria: [practitioner('many'), from(APPOINTMENTS - 10)], driver: 'index.date.lo', counted: [128, 10] },
    { name: 'the same, date first', criteria: [from(APPOINTMENTS - 10), practitioner('many')], driver: 'index.date.lo', counted: [10, 10] },
    // A practitioner with 4: taken without estimating the date when it comes first.
    { name: 'practitioner with 4, date from the start', criteria: [practitioner('few'), from(0)], driver: 'index.practitioner.i', counted: [4] },
    { name: 'the same, date first', criteria: [from(0), practitioner('few')], driver: 'index.practitioner.i', counted: [128, 4] },
    // A status every appointment has, before a selective criterion: counted to 128, not DRIVER_LIMIT.
    { name: 'status of all, then the last 10 days', criteria: [booked, from(APPOINTMENTS - 10)], driver: 'index.date.lo', counted: [128, 10] },
    { name: 'status of all, then practitioner with 4', criteria: [booked, practitioner('few')], driver: 'index.practitioner.i', counted: [128, 4] },
  ])('$name', async ({ criteria, driver, counted: expectedCounts }) => {
    const filter = appointments(...criteria);
    const { ctx, counted } = recordingContext();
    expect(driverPath(ctx, filter)).toBe(driver);
    expect(counted).toEqual(expectedCounts);
    const expected = records.filter((r) => new Query(filter).test(r as unknown as Record<string, unknown>)).map((r) => r.id);
    expect(expected.length).toBeGreaterThan(0);
    const { records: page, total } = await held.store().findCounted!('current', filter, { sort: { id: 1 }, limit: 21 });
    expect({ ids: page.map((r) => r.id), total }).toEqual({ ids: expected.slice(0, 21), total: expected.length });
    expect((await held.store().find('current', filter, { sort: { id: 1 }, limit: 21 })).map((r) => r.id)).toEqual(expected.slice(0, 21));
  });

  it.each([
    { name: 'a single driver of DRIVER_LIMIT entries or more: the walk answers', filter: appointments(booked) },
    { name: 'the same with no match', filter: appointments(booked, { lastUpdated: { $gt: '2100-01-01' } }) },
    { name: 'a single small driver with no match', filter: appointments(practitioner('few'), { lastUpdated: { $gt: '2100-01-01' } }) },
    { name: 'a single small driver', filter: appointments(practitioner('few')) },
    { name: 'a single driver of 600', filter: appointments(practitioner('many')) },
  ])('answers a page started from its only driver as mingo does: $name', async ({ filter }) => {
    const expected = records.filter((r) => new Query(filter).test(r as unknown as Record<string, unknown>)).map((r) => r.id);
    for (const sort of [{ id: 1 }, { lastUpdated: -1, id: -1 }] as Array<Record<string, 1 | -1>>) {
      const sorted = sort.id === 1 ? expected : [...expected].reverse();
      const { records: page, total } = await held.store().findCounted!('current', filter, { sort, limit: 21 });
      expect({ ids: page.map((r) => r.id), total }).toEqual({ ids: sorted.slice(0, 21), total: expected.length });
      expect((await held.store().find('current', filter, { sort, limit: 21 })).map((r) => r.id)).toEqual(sorted.slice(0, 21));
    }
  });

  it(`stops estimating at a driver of at most ${SMALL_DRIVER} entries`, () => {
    const { ctx, counted } = recordingContext();
    findSql(ctx, 'current', appointments(practitioner('few'), from(0), booked), { sort: { id: 1 }, limit: 21 });
    expect(counted).toEqual([4]);
  });

  it.each([
    { name: 'status of all, then practitioner with 4', criteria: [booked, practitioner('few')], counted: [128, 4] },
    { name: 'both at least FIRST_ROUND, then eight times more', criteria: [from(0), practitioner('many')], counted: [128, 128, 1024, 600] },
  ])('counts every match from the smallest driver, counting the others no further than needed: $name', ({ criteria, counted: expectedCounts }) => {
    const filter = appointments(...criteria);
    const { ctx, counted } = recordingContext();
    expect(countRecords(ctx, 'current', filter)).toBe(records.filter((r) => new Query(filter).test(r as unknown as Record<string, unknown>)).length);
    expect(counted).toEqual(expectedCounts);
  });

  it('estimates a single driver once, up to DRIVER_LIMIT, and walks the records past it', () => {
    const { ctx, counted } = recordingContext();
    expect(driverPath(ctx, appointments(practitioner('many')))).toBe('index.practitioner.i');
    expect(driverPath(ctx, appointments(booked))).toBeUndefined();
    expect(counted).toEqual([600, 1000]);
  });
});
