import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateSchema } from '../../src/store/embedded/schema.js';
import { encodeString } from '../../src/store/embedded/search-values.js';
import { ValueRows, type ValueRow } from '../../src/store/embedded/value-rows.js';
import type { StoredRecord } from '../../src/store/port.js';
import { record, seed } from './contract-support.js';
import { openStore, removeDir, tempDir, withDatabase } from './embedded-support.js';

/**
 * Issue 17: a new version of a resource writes only the value rows it changes. Counted with
 * SQLite's own `total_changes()` (rows inserted, updated or deleted by the connection).
 */
const s = (pid: number, text: string): ValueRow => ({ pid, value: encodeString(text) });
const n = (pid: number, value: number): ValueRow => ({ pid, value });

/** A slot's values: status, start, schedule, service type... 13 rows like a Slot of the workflow benchmark. */
const SLOT: ValueRow[] = [s(1, 'free'), s(2, '2030-01-01T09:00:00Z'), s(3, '2030-01-01T09:15:00Z'), s(4, 'Schedule/a'), s(5, 'http://terminology.hl7.org/CodeSystem/service-type'), s(6, '57'), s(7, 'slot-1'), n(8, 1), s(9, 'a'), s(9, 'b'), s(10, 'Practitioner/x'), n(11, 15), s(12, 'general')];

describe('embedded value rows: a new version writes what changed (value-rows.ts)', () => {
  let db: Sqlite.Database;
  let rows: ValueRows;
  const changes = (): number => db.prepare('SELECT total_changes()').pluck().get() as number;
  const live = (rid: number): string[] => (db.prepare('SELECT pid, hex(value) AS v FROM search_values WHERE rid = ? ORDER BY pid, value').all(rid) as Array<{ pid: number; v: string }>).map((r) => `${r.pid}:${r.v}`);
  const ended = (rid: number): number => db.prepare('SELECT count(*) FROM ended_values WHERE rid = ?').pluck().get(rid) as number;
  const asKeys = (list: ValueRow[]): string[] =>
    [...new Set(list.map((r) => `${r.pid}:${Buffer.isBuffer(r.value) ? r.value.toString('hex').toUpperCase() : db.prepare('SELECT hex(?)').pluck().get(r.value)}`))].sort((a, b) => (a < b ? -1 : 1));

  beforeEach(() => {
    db = new Sqlite(':memory:');
    migrateSchema(db);
    rows = new ValueRows(db);
    // Resource 8 has the same values as 7 and is left alone throughout.
    rows.insertMany([
      { rid: 7, rows: SLOT },
      { rid: 8, rows: SLOT },
    ]);
  });

  afterEach(() => db.close());

  it.each([
    ['the same values', SLOT, 0, 0],
    ['the same values, in another order and repeated', [...SLOT].reverse().concat(SLOT.slice(0, 3)), 0, 0],
    ['status free -> busy', [s(1, 'busy'), ...SLOT.slice(1)], 3, 1],
    ['a number changed', [...SLOT.slice(0, 11), n(11, 30), SLOT[12]], 3, 1],
    ['a value added', [...SLOT, s(9, 'c')], 1, 0],
    ['a value dropped', SLOT.slice(0, 12), 2, 1],
    ['a string that reads as the number it replaces', [...SLOT.slice(0, 7), s(8, '1'), ...SLOT.slice(8)], 3, 1],
    ['a number beside the strings of one path', [n(9, 2), ...SLOT], 1, 0],
    ['a string that extends the one it replaces', [...SLOT.slice(0, 12), s(12, 'generalist')], 3, 1],
    ['every value gone', [], 2 * SLOT.length, SLOT.length],
  ])('%s: %i row changes, %i ended', (_, next, expectedChanges, expectedEnded) => {
    const before = changes();
    rows.replace(7, next);
    expect(changes() - before).toBe(expectedChanges);
    expect(ended(7)).toBe(expectedEnded);
    expect(live(7).sort()).toEqual(asKeys(next));
    expect(live(8).length).toBe(SLOT.length);
  });

  it('ends a value once however often it goes and comes back', () => {
    const busy = [s(1, 'busy'), ...SLOT.slice(1)];
    for (let i = 0; i < 3; i++) {
      rows.replace(7, busy);
      rows.replace(7, SLOT);
    }
    expect(ended(7)).toBe(2);
    expect(live(7).sort()).toEqual(asKeys(SLOT));
  });

  it.each([
    ['none', 0],
    ['fewer rows than one statement takes', 2],
    ['several statements and a remainder', 11],
  ])('inserts the rows of many creates at once as one by one (%s)', (_, resources) => {
    // Rows in no order, numbers and strings, a duplicate within a resource, the same values as other resources.
    const creates = Array.from({ length: resources }, (_, i) => ({ rid: 100 + i, rows: [...SLOT].reverse().concat(s(9, `r${i}`), n(11, i), SLOT[0]) }));
    const before = changes();
    rows.insertMany(creates);
    expect(changes() - before).toBe(resources * (SLOT.length + 2));
    for (const { rid, rows: list } of creates) expect(live(rid).sort()).toEqual(asKeys(list));
    expect(live(7).length).toBe(SLOT.length);
  });

  it('purges every row of one resource', () => {
    rows.replace(7, [s(1, 'busy'), ...SLOT.slice(1)]);
    rows.purge(7);
    expect(live(7)).toEqual([]);
    expect(ended(7)).toBe(0);
    expect(live(8).length).toBe(SLOT.length);
  });
});

describe('embedded store: a rewrite of every version (key rotation)', () => {
  it('leaves none of the values it replaced in either value table, whatever order the versions come in', async () => {
    const dir = await tempDir();
    try {
      const { store } = await openStore(dir);
      const version = (versionId: number, token: string): StoredRecord => record('Patient', 'p1', { versionId, index: { family: [token], gender: 'female' } });
      await seed(store, [version(1, 'old-key-1'), version(2, 'old-key-2'), version(3, 'old-key-3')]);
      // In two calls, as rotation writes its batches: the earlier versions, then the current one.
      await store.rewrite!([version(1, 'new-key-1'), version(2, 'new-key-2')]);
      await store.rewrite!([version(3, 'new-key-3')]);
      expect((await store.find('history', { 'index.family': 'new-key-2' })).map((r) => r.versionId)).toEqual([2]);
      expect(await store.count('history', { 'index.family': { $in: ['old-key-1', 'old-key-2', 'old-key-3'] } })).toBe(0);
      await store.close();
      const tables = (tokens: string[]): number =>
        withDatabase(dir, (db) => db.prepare(`SELECT count(*) FROM (SELECT value FROM search_values UNION ALL SELECT value FROM ended_values) WHERE value IN (?, ?, ?)`).pluck().get(...tokens.map(encodeString)) as number, { readonly: true });
      expect(tables(['old-key-1', 'old-key-2', 'old-key-3'])).toBe(0);
      expect(tables(['new-key-1', 'new-key-2', 'new-key-3'])).toBe(3);
      // The earlier versions' own values (new-key-1, new-key-2); `female` is the current version's too.
      expect(withDatabase(dir, (db) => db.prepare('SELECT count(*) FROM ended_values').pluck().get(), { readonly: true })).toBe(2);
    } finally {
      await removeDir(dir);
    }
  });
});

describe('embedded store: a write that keeps its search values (WriteOp.sameSearchValues)', () => {
  it('stores the new version and leaves the value rows as the version it replaces left them', async () => {
    const dir = await tempDir();
    try {
      const { store } = await openStore(dir);
      const version = (versionId: number, status: string): StoredRecord => record('MedicationRequest', 'm1', { versionId, index: { status: [status], code: ['x'] } });
      await seed(store, [version(1, 'active')]);
      const rowsOf = (): string[] => withDatabase(dir, (db) => (db.prepare('SELECT pid || hex(value) FROM search_values ORDER BY 1').pluck().all() as string[]), { readonly: true });
      const before = rowsOf();
      await store.commit([{ record: version(2, 'active'), expectedVersion: 1, sameSearchValues: true }]);
      expect(rowsOf()).toEqual(before);
      expect((await store.find('current', { 'index.status': 'active' })).map((r) => r.versionId)).toEqual([2]);
      // The store takes the writer at its word (only the rules set the hint, on versions whose values they carried over): the rows are not even compared.
      await store.commit([{ record: version(3, 'completed'), expectedVersion: 2, sameSearchValues: true }]);
      expect(rowsOf()).toEqual(before);
      // Without the hint a write replaces them; a create's hint is ignored (it has no rows to keep).
      await store.commit([{ record: version(4, 'completed'), expectedVersion: 3 }, { record: record('MedicationRequest', 'm2', { index: { status: ['active'] } }), expectedVersion: 0, sameSearchValues: true }]);
      expect((await store.find('current', { 'index.status': 'completed' })).map((r) => `${r.id}/${r.versionId}`)).toEqual(['m1/4']);
      expect((await store.find('current', { 'index.status': 'active' })).map((r) => r.id)).toEqual(['m2']);
      expect((await store.find('history', { resourceType: 'MedicationRequest', id: 'm1' })).map((r) => r.versionId).sort()).toEqual([1, 2, 3, 4]);
      await store.close();
    } finally {
      await removeDir(dir);
    }
  });
});
