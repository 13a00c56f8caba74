import { Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import { DRIVER_LIMIT } from '../../src/store/embedded/driver-choice.js';
import { WALK_LIMIT } from '../../src/store/embedded/bounded-walk.js';
import { findSql, type QueryContext } from '../../src/store/embedded/query.js';
import type { Filter, Sort, StoredRecord } from '../../src/store/port.js';
import { recordingQueryContext, storeHolding } from './embedded-support.js';

/**
 * Issue 13: a search whose every driver is large, with its matches clustered where a walk in sort
 * order reaches them last (the thousands of recent AuditEvents of a chart opened all day), and
 * search values shared by several types (those events and the patient's prescriptions name the
 * same patient). The store must answer as mingo does, from the smallest driver once a bounded
 * walk has not filled the page, and a query pinned to a type must read only that type's values.
 */
const FILLERS = WALK_LIMIT + 100; // in id order before every late one: the walk reads only these
const LATE = DRIVER_LIMIT + 50; // too many for a page to start from, clustered at the end
const EVENTS = DRIVER_LIMIT + 100; // AuditEvents naming the patient of one prescription

const at = (minute: number): string => new Date(Date.UTC(2024, 0, 1, 0, minute)).toISOString();

function appointment(id: string, minute: number, practitioner: string): StoredRecord {
  return {
    resourceType: 'Appointment',
    id,
    versionId: 1,
    lastUpdated: at(minute),
    deleted: false,
    resource: { resourceType: 'Appointment', id } as StoredRecord['resource'],
    index: { practitioner: [{ r: `Practitioner/${practitioner}`, i: practitioner }], date: [{ lo: at(minute), hi: at(minute) }] },
  };
}

function naming(resourceType: string, id: string, minute: number): StoredRecord {
  return { resourceType, id, versionId: 1, lastUpdated: at(minute), deleted: false, resource: { resourceType, id } as StoredRecord['resource'], index: { patient: [{ r: 'Patient/p1', t: 'Patient', i: 'p1' }] } };
}

const records: StoredRecord[] = [
  ...Array.from({ length: FILLERS }, (_, i) => appointment(`a${String(i).padStart(5, '0')}`, i, 'filler')),
  ...Array.from({ length: LATE }, (_, i) => appointment(`z${String(i).padStart(5, '0')}`, FILLERS + i, 'late')),
  ...Array.from({ length: EVENTS }, (_, i) => naming('AuditEvent', `e${String(i).padStart(5, '0')}`, i)),
  naming('MedicationRequest', 'rx1', 0),
];
const held = storeHolding(records);

const recordingContext = (): { ctx: QueryContext; counted: number[] } => recordingQueryContext(held.db());

const ofType = (resourceType: string, ...criteria: Filter[]): Filter => ({ $and: [{ resourceType, deleted: false }, ...criteria] });
const practitioner = (id: string): Filter => ofType('Appointment', { 'index.practitioner.i': id });
const expectedIds = (filter: Filter, sort: Sort): string[] => {
  const matches = records.filter((r) => new Query(filter).test(r as unknown as Record<string, unknown>));
  const [field, direction] = Object.entries(sort)[0];
  const key = (r: StoredRecord): string => (field === 'lastUpdated' ? `${r.lastUpdated} ${r.id}` : r.id);
  return matches.sort((x, y) => (key(x) < key(y) ? -direction : key(x) > key(y) ? direction : 0)).map((r) => r.id);
};

async function expectPage(filter: Filter, sort: Sort): Promise<void> {
  const expected = expectedIds(filter, sort);
  expect(expected.length).toBeGreaterThan(21);
  expect((await held.store().find('current', filter, { sort, limit: 21 })).map((r) => r.id)).toEqual(expected.slice(0, 21));
  const { records: page, total } = await held.store().findCounted!('current', filter, { sort, limit: 21 });
  expect({ ids: page.map((r) => r.id), total }).toEqual({ ids: expected.slice(0, 21), total: expected.length });
  expect(await held.store().count('current', filter)).toBe(expected.length);
}

describe('embedded store: pages no small driver narrows (issue 13)', () => {
  it('tries a walk of at most WALK_LIMIT rows in sort order first', () => {
    const { ctx } = recordingContext();
    const found = findSql(ctx, 'current', practitioner('late'), { sort: { id: 1 }, limit: 21 });
    expect(found.walk?.sql).toContain(`LIMIT ${WALK_LIMIT}`);
    // Where the walk does not fill the page, the smallest driver answers, however large.
    const all = findSql(ctx, 'current', practitioner('late'), { sort: { id: 1 }, limit: 21 }, false, undefined, true);
    expect(all.sql).toMatch(/FROM \(SELECT rid FROM search_values WHERE pid = \d+ AND value = \?\) d/);
    expect(all.walk).toBeUndefined();
  });

  it("bounds the walk by a keyset position on the record's columns, and filters what it read by the search values", async () => {
    const { ctx } = recordingContext();
    const position = at(FILLERS + 500);
    const keyset = ofType('Appointment', { 'index.practitioner.i': 'late' }, { $or: [{ lastUpdated: { $lt: position } }, { lastUpdated: position, id: { $lt: 'z00500' } }] });
    const walk = findSql(ctx, 'current', keyset, { sort: { lastUpdated: -1, id: -1 }, limit: 21 }).walk!;
    expect(walk.sql).toMatch(/^SELECT r\.vid AS vid FROM \(SELECT \* FROM current r WHERE [^)]*\(r\.last_updated < \?/);
    expect(walk.sql).toMatch(/\) r WHERE EXISTS \(SELECT 1 FROM search_values/);
    await expectPage(keyset, { lastUpdated: -1, id: -1 });
  });

  it('answers matches clustered past the walk from the driver, as mingo does', async () => {
    await expectPage(practitioner('late'), { id: 1 });
  });

  it('answers from the walk where it reaches them (newest first, or past a keyset position)', async () => {
    await expectPage(practitioner('late'), { lastUpdated: -1 });
    await expectPage(ofType('Appointment', { 'index.practitioner.i': 'late' }, { id: { $gt: 'z00100' } }), { id: 1 });
    await expectPage(practitioner('filler'), { id: 1 });
  });

  it('counts and sorts by a search value from the driver: no index walks those in order', () => {
    const { ctx } = recordingContext();
    const driven = /FROM \(SELECT rid FROM search_values WHERE pid = \d+ AND value = \?\) d/;
    expect(findSql(ctx, 'current', practitioner('late'), { sort: { 'index.date.lo': 1 }, limit: 21 }).sql).toMatch(driven);
    expect(findSql(ctx, 'current', practitioner('late')).sql).toMatch(driven);
  });

  it('pages sorted by a search value as mingo does', async () => {
    const filter = practitioner('late');
    const expected = expectedIds(filter, { lastUpdated: -1 }); // the date is the lastUpdated minute
    expect((await held.store().find('current', filter, { sort: { 'index.date.lo': -1, id: 1 }, limit: 21 })).map((r) => r.id)).toEqual(expected.slice(0, 21));
  });
});

describe('embedded store: search values of one type are apart from those of others (schema 7)', () => {
  const rx = ofType('MedicationRequest', { 'index.patient.r': 'Patient/p1' });
  const events = ofType('AuditEvent', { 'index.patient.r': 'Patient/p1' });

  it("starts a type's search from its own rows: the events naming the patient are not counted", () => {
    const { ctx, counted } = recordingContext();
    expect(findSql(ctx, 'current', rx, { sort: { id: 1 }, limit: 21 }).sql).toMatch(/^SELECT r\.vid AS vid FROM \(SELECT rid FROM search_values WHERE pid = \d+ AND value = \?\) d/);
    expect(counted).toEqual([1]); // its estimate reads the prescription's one entry, none of the events'
    const pids = held.db().prepare("SELECT type, pid FROM paths WHERE path = 'index.patient.r' ORDER BY type").all();
    expect(pids).toEqual([{ type: 'AuditEvent', pid: expect.any(Number) }, { type: 'MedicationRequest', pid: expect.any(Number) }]);
  });

  it('answers each type, and a query of every type, as mingo does', async () => {
    expect((await held.store().find('current', rx, { sort: { id: 1 }, limit: 21 })).map((r) => r.id)).toEqual(['rx1']);
    expect(await held.store().count('current', rx)).toBe(1);
    expect(await held.store().count('current', events)).toBe(EVENTS);
    expect(await held.store().count('current', { 'index.patient.r': 'Patient/p1' })).toBe(EVENTS + 1);
    const anyType = await held.store().find('current', { 'index.patient.r': 'Patient/p1' }, { sort: { id: 1 }, limit: 3 });
    expect(anyType.map((r) => `${r.resourceType}/${r.id}`)).toEqual(['AuditEvent/e00000', 'AuditEvent/e00001', 'AuditEvent/e00002']);
    const groups = await held.store().groupCount!('current', { resourceType: { $in: ['AuditEvent', 'MedicationRequest'] } }, 'index.patient.r');
    expect(groups).toEqual([{ value: 'Patient/p1', count: EVENTS + 1 }]);
  });
});
