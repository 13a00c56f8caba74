import Sqlite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { databasePath } from '../../src/store/embedded/files.js';
import { parseRecord, recordColumns, resourceJson } from '../../src/store/embedded/record-format.js';
import { SCHEMA_VERSION } from '../../src/store/embedded/schema.js';
import type { StoredRecord } from '../../src/store/port.js';
import { record, writeOf } from './contract-support.js';
import { openStore, removeDir, tempDir, withDatabase } from './embedded-support.js';

const SMITH = record('Patient', 'p1', { resource: { name: [{ family: 'Smith' }] }, index: { family: [{ f: 'smith', e: 'Smith' }], birthdate: [{ lo: '1980-05-01', hi: '1980-05-01' }] } });
const NO_INDEX = record('Patient', 'p2', { resource: { active: true } });
const DELETED = record('Patient', 'p3', { versionId: 2, deleted: true });

/** A record read back from its columns, its index still unparsed. */
const reread = (stored: StoredRecord): StoredRecord => {
  const { record: text, idx } = recordColumns(stored);
  return parseRecord(text, idx);
};

describe('embedded record format: the index apart from the record (record-format.ts)', () => {
  it.each([
    ['with an index', SMITH],
    ['without an index', NO_INDEX],
    ['a delete tombstone', DELETED],
  ])('reads %s back as it was written', (_, stored) => {
    const { record: text } = recordColumns(stored);
    expect(JSON.parse(text)).not.toHaveProperty('index');
    const back = reread(stored);
    expect(back).toEqual(stored);
    expect(JSON.parse(JSON.stringify(back))).toEqual(stored);
    expect({ ...back }).toEqual(stored);
    expect(Object.keys(back)).toEqual(Object.keys(stored));
    expect('index' in back).toBe('index' in stored);
  });

  // A search page sends a resource that needs no decoding as this text (issue 13): it must be the resource's JSON exactly.
  const TRICKY = record('Patient', 'p4', { resource: { name: [{ family: 'Q"uote,"resource":{}}' }], text: { status: 'generated', div: '<div>"resource": }</div>' } }, index: { family: [{ f: 'q' }] } });
  it.each([
    ['with an index', SMITH],
    ['without an index', NO_INDEX],
    ['with "resource" in its values', TRICKY],
  ])('finds the JSON of the resource in the record column, %s', (_, stored) => {
    expect(resourceJson(recordColumns(stored).record)).toBe(JSON.stringify(stored.resource));
  });

  it('finds no resource in a tombstone', () => expect(resourceJson(recordColumns(DELETED).record)).toBeUndefined());

  it('parses the index once, when first read, and the value is the record own to change', () => {
    const back = reread(SMITH);
    const first = back.index!;
    expect(back.index).toBe(first);
    (first.family as Array<{ f: string }>)[0].f = 'changed';
    expect(reread(SMITH).index).toEqual(SMITH.index);
    expect(Object.getOwnPropertyDescriptor(back, 'index')).toMatchObject({ value: first, writable: true, enumerable: true });
  });

  it('takes an index assigned before it was read', () => {
    const back = reread(SMITH);
    back.index = { family: [{ f: 'jones' }] };
    expect(back.index).toEqual({ family: [{ f: 'jones' }] });
    delete back.index;
    expect(back).not.toHaveProperty('index');
  });

  it('reads a record whose index is inside its JSON (idx NULL: rows written whole)', () => {
    expect(parseRecord(JSON.stringify(SMITH), null)).toEqual(SMITH);
  });
});

/** Rewrites the database as FhirGate before schema 3 left it: every record whole, no `idx` column. */
function downgradeToSchema2(dir: string): void {
  withDatabase(dir, (db) => {
    const rows = db.prepare('SELECT vid, record, idx FROM versions').all() as Array<{ vid: number; record: string; idx: string | null }>;
    const update = db.prepare('UPDATE versions SET record = ? WHERE vid = ?');
    for (const row of rows) update.run(JSON.stringify({ ...JSON.parse(row.record), ...(row.idx ? { index: JSON.parse(row.idx) } : {}) }), row.vid);
    db.exec("ALTER TABLE versions DROP COLUMN idx; UPDATE meta SET value = 2 WHERE key = 'schema'");
  });
}

/** The stored columns of every version of a resource, oldest first. */
function storedRows(dir: string, id: string): Array<{ record: string; idx: string | null }> {
  return withDatabase(dir, (db) => db.prepare('SELECT record, idx FROM versions WHERE id = ? ORDER BY vid').all(id) as Array<{ record: string; idx: string | null }>, { readonly: true });
}

describe('embedded store: schema 2 databases (records stored whole)', () => {
  it('are upgraded in place: old rows read and match as before, new versions store their index apart', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    await store.commit([writeOf(SMITH), writeOf(NO_INDEX)]);
    await store.close();
    downgradeToSchema2(dir);
    const before = new Sqlite(databasePath(dir), { readonly: true });
    expect(before.prepare("SELECT record FROM versions WHERE id = 'p1'").pluck().get()).toContain('"index"');
    before.close();

    const { store: upgraded } = await openStore(dir);
    try {
      expect(await upgraded.find('current', { 'index.family.f': 'smith' })).toEqual([SMITH]);
      expect(await upgraded.find('current', { resourceType: 'Patient' }, { sort: { id: 1 } })).toEqual([SMITH, NO_INDEX]);
      const next = record('Patient', 'p1', { versionId: 2, resource: { name: [{ family: 'Jones' }] }, index: { family: [{ f: 'jones', e: 'Jones' }] } });
      await upgraded.commit([writeOf(next)]);
      const [old, fresh] = storedRows(dir, 'p1');
      expect(old.idx).toBeNull();
      expect(fresh.record).not.toContain('"index"');
      expect(JSON.parse(fresh.idx!)).toEqual(next.index);
      expect(await upgraded.find('history', { id: 'p1' }, { sort: { versionId: 1 } })).toEqual([SMITH, next]);
      expect(await upgraded.find('current', { 'index.family.f': 'jones' })).toEqual([next]);
      expect(await upgraded.find('current', { 'index.family.f': 'smith' })).toEqual([]);
      // Rewriting an old version (key rotation) stores it in the new layout too.
      const rewritten = { ...SMITH, index: { family: [{ f: 'smith', e: 'Smith' }], rotated: [{ c: 'yes' }] } };
      await upgraded.rewrite!([rewritten]);
      expect(storedRows(dir, 'p1')[0].idx).not.toBeNull();
      expect(await upgraded.find('history', { 'index.rotated.c': 'yes' })).toEqual([rewritten]);
    } finally {
      await upgraded.close();
    }
    const check = new Sqlite(databasePath(dir), { readonly: true });
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe(SCHEMA_VERSION);
    check.close();
    await removeDir(dir);
  });
});
