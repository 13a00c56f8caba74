import { Query } from 'mingo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { createSearchIndex } from '../../src/search/index/index.js';
import { databasePath } from '../../src/store/embedded/files.js';
import { recordColumns } from '../../src/store/embedded/record-format.js';
import { SCHEMA_VERSION } from '../../src/store/embedded/schema.js';
import { searchValueRows } from '../../src/store/embedded/search-values.js';
import type { Filter, StoredRecord, StorePort } from '../../src/store/port.js';
import type { Resource } from '@medplum/fhirtypes';
import { officialExamples } from '../support/corpus.js';
import { openStore, removeDir, tempDir, withDatabase } from './embedded-support.js';

/**
 * Issue 17: schema 4 keys search values by resource. A DATA_DIR written by schema 3 (values keyed
 * by version, every version's rows kept) opens, is upgraded in place, and answers searches on
 * current records and on history as before, and keeps answering them after new versions.
 */

/** The tables of schema 3, as FhirGate wrote them (src/store/embedded/schema.ts before issue 17). */
const SCHEMA_3 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE versions (vid INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, last_updated TEXT NOT NULL, deleted INTEGER NOT NULL, txn INTEGER NOT NULL, record TEXT NOT NULL, idx TEXT);
CREATE UNIQUE INDEX versions_by_key ON versions (type, id, version);
CREATE INDEX versions_by_updated ON versions (type, last_updated, id, version);
CREATE INDEX versions_by_updated_all ON versions (last_updated, type, id, version);
CREATE TABLE current (type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, last_updated TEXT NOT NULL, deleted INTEGER NOT NULL, vid INTEGER NOT NULL, PRIMARY KEY (type, id)) WITHOUT ROWID;
CREATE UNIQUE INDEX current_by_vid ON current (vid);
CREATE INDEX current_by_deleted_id ON current (type, deleted, id);
CREATE INDEX current_by_updated ON current (type, deleted, last_updated, id);
CREATE TABLE paths (pid INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE search_values (pid INTEGER NOT NULL, value NOT NULL, vid INTEGER NOT NULL, PRIMARY KEY (pid, value, vid)) WITHOUT ROWID;
CREATE INDEX search_values_by_vid ON search_values (vid);
CREATE TABLE deferred (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL, UNIQUE (type, id));
INSERT INTO meta (key, value) VALUES ('schema', 3);
`;

/** Writes the versions (in order) the way schema 3 stored them: a row per version, every version's values keyed by its `vid`. */
function writeSchema3(dir: string, versions: readonly StoredRecord[]): void {
  withDatabase(dir, (db) => {
    db.exec(SCHEMA_3);
    const pathIds = new Map<string, number>();
    const insertVersion = db.prepare('INSERT INTO versions (type, id, version, last_updated, deleted, txn, record, idx) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const upsertCurrent = db.prepare('INSERT OR REPLACE INTO current (type, id, version, last_updated, deleted, vid) VALUES (?, ?, ?, ?, ?, ?)');
    const insertPath = db.prepare('INSERT INTO paths (path) VALUES (?)');
    const insertValue = db.prepare('INSERT OR IGNORE INTO search_values (pid, value, vid) VALUES (?, ?, ?)');
    db.transaction(() => {
      versions.forEach((record, i) => {
        const { record: text, idx } = recordColumns(record);
        const deleted = record.deleted ? 1 : 0;
        const vid = insertVersion.run(record.resourceType, record.id, record.versionId, record.lastUpdated, deleted, i + 1, text, idx).lastInsertRowid;
        upsertCurrent.run(record.resourceType, record.id, record.versionId, record.lastUpdated, deleted, vid);
        for (const { path, value } of searchValueRows(record.index)) {
          if (!pathIds.has(path)) pathIds.set(path, Number(insertPath.run(path).lastInsertRowid));
          insertValue.run(pathIds.get(path), value, vid);
        }
      });
    })();
  });
}

const index = createSearchIndex({ definitions: r4Definitions(), resourceTypes: ['Patient'] });
const patients = officialExamples('Patient')
  .map(({ resource }) => resource)
  .filter((resource, i, all) => all.findIndex((r) => r.id === resource.id) === i);

const stored = (resource: Resource, versionId: number, deleted = false): StoredRecord => ({
  resourceType: 'Patient',
  id: resource.id!,
  versionId,
  lastUpdated: new Date(Date.UTC(2024, 0, 1, 0, versionId)).toISOString(),
  deleted,
  ...(deleted ? {} : { resource: { ...resource, meta: { versionId: String(versionId) } } }),
  index: index.extract(resource),
});

/** Every patient, then a second version of the first three (a new family name and gender), then the fourth deleted. */
function versionsOf(): StoredRecord[] {
  const renamed = (resource: Resource): Resource => ({ ...resource, name: [{ family: 'Upgradeson', given: ['Ada'] }], gender: 'unknown' }) as Resource;
  return [
    ...patients.map((p) => stored(p, 1)),
    ...patients.slice(0, 3).map((p) => stored(renamed(p), 2)),
    stored(patients[3], 2, true),
  ];
}

/** Search filters of real parameters, as the pipeline compiles them. */
const SEARCHES: Array<[string, string]> = [
  ['family', 'Upgradeson'],
  ['family', 'Chalmers'],
  ['family', 'Wind'],
  ['gender', 'unknown'],
  ['gender', 'male'],
  ['gender', 'female'],
  ['name', 'peter'],
  ['birthdate', 'lt1990'],
  ['identifier', 'urn:oid:1.2.36.146.595.217.0.1|12345'],
  ['active', 'true'],
];
const filterOf = ([code, value]: [string, string]): Filter => ({ $and: [{ resourceType: 'Patient' }, index.compile('Patient', code, undefined, [value])] });
const expected = (records: readonly StoredRecord[], filter: Filter): string[] =>
  records
    .filter((r) => new Query(filter).test(r as unknown as Record<string, unknown>))
    .map((r) => `${r.id}/${r.versionId}`)
    .sort();
const found = (records: readonly StoredRecord[]): string[] => records.map((r) => `${r.id}/${r.versionId}`).sort();

describe('embedded store: schema 3 databases (search values keyed by version)', () => {
  let dir: string;
  let store: StorePort;
  let all: StoredRecord[];
  const currentOf = (versions: readonly StoredRecord[]): StoredRecord[] => [...new Map(versions.map((r) => [r.id, r])).values()];

  beforeAll(async () => {
    dir = await tempDir();
    all = versionsOf();
    writeSchema3(dir, all);
    ({ store } = await openStore(dir));
  });

  afterAll(async () => {
    await store?.close();
    await removeDir(dir);
  });

  it('are upgraded in place: one row per value of each current version, the rest kept for history', () => {
    withDatabase(dir, (db) => {
      expect(db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe(SCHEMA_VERSION);
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
      expect(tables).not.toContain('search_values_by_version');
      expect(db.prepare('SELECT count(*) FROM current WHERE rid IS NULL').pluck().get()).toBe(0);
      const rows = currentOf(all).reduce((n, r) => n + new Set(searchValueRows(r.index).map((row) => `${row.path}:${String(row.value)}`)).size, 0);
      expect(db.prepare('SELECT count(*) FROM search_values').pluck().get()).toBe(rows);
      expect(db.prepare('SELECT count(*) FROM ended_values').pluck().get()).toBeGreaterThan(0);
    }, { readonly: true });
  });

  it.each(SEARCHES)('answers Patient?%s=%s on current records and on history as the records say', async (code, value) => {
    const filter = filterOf([code, value]);
    expect(found(await store.find('current', filter))).toEqual(expected(currentOf(all), filter));
    expect(await store.count('current', filter)).toBe(expected(currentOf(all), filter).length);
    expect(found(await store.find('history', filter))).toEqual(expected(all, filter));
  });

  it('finds something for most of those searches (the cases are not vacuous)', () => {
    expect(SEARCHES.filter((s) => expected(currentOf(all), filterOf(s)).length > 0).length).toBeGreaterThanOrEqual(6);
    expect(expected(all, filterOf(['family', 'Chalmers'])).length).toBeGreaterThan(expected(currentOf(all), filterOf(['family', 'Chalmers'])).length);
  });

  it('keeps answering them after new versions written by schema 4', async () => {
    const next = [stored({ ...patients[0], name: [{ family: 'Chalmers' }], gender: 'male' } as Resource, 3), stored({ ...patients[5], gender: 'unknown' } as Resource, 2)];
    for (const record of next) await store.commit([{ record, expectedVersion: record.versionId - 1 }]);
    all = [...all, ...next];
    for (const search of SEARCHES) {
      const filter = filterOf(search);
      expect(found(await store.find('current', filter))).toEqual(expected(currentOf(all), filter));
      expect(found(await store.find('history', filter))).toEqual(expected(all, filter));
    }
  });
});

describe('embedded store: a schema 4 database opened again', () => {
  it('is left as it is', async () => {
    const dir = await tempDir();
    try {
      const example = patients.find((p) => p.id === 'example')!; // family Chalmers
      let { store } = await openStore(dir);
      await store.commit([{ record: stored(example, 1), expectedVersion: 0 }]);
      await store.close();
      ({ store } = await openStore(dir));
      expect(found(await store.find('current', filterOf(['family', 'Chalmers'])))).toEqual(['example/1']);
      await store.close();
      expect(withDatabase(dir, (db) => db.prepare('SELECT count(*) FROM ended_values').pluck().get(), { readonly: true })).toBe(0);
    } finally {
      await removeDir(dir);
    }
  });
});
