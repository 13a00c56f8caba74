import Sqlite from 'better-sqlite3';
import { Query } from 'mingo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { createSearchIndex } from '../../src/search/index/index.js';
import type { SearchIndex } from '../../src/search/types.js';
import { databasePath } from '../../src/store/embedded/files.js';
import { createEmbeddedStore } from '../../src/store/embedded/index.js';
import { DRIVER_LIMIT } from '../../src/store/embedded/driver-choice.js';
import { PathCatalog } from '../../src/store/embedded/path-ids.js';
import { findSql, tentativeSql, type QueryContext } from '../../src/store/embedded/query.js';
import { StatementCache } from '../../src/store/embedded/statement-cache.js';
import type { Filter, StorePort } from '../../src/store/port.js';
import { officialExamples } from '../support/corpus.js';
import { openStore, removeDir, tempDir, withDatabase } from './embedded-support.js';
import { SCHEMA_VERSION } from '../../src/store/embedded/schema.js';

/**
 * Issue 13: no search on a parameter of the seven types falls back to a scan of the records.
 * The official R4 examples are stored with their real search values; then, for every parameter
 * (default modifier, a value of its type), the query the store would run is explained by SQLite
 * and must start from the search-value index, never scan a record table.
 */
const TYPES = ['Patient', 'Practitioner', 'MedicationRequest', 'MedicationDispense', 'Consent', 'AuditEvent', 'Appointment'];

/** A plausible search value per parameter type (prefixes included where they apply). */
const VALUES: Record<string, string[]> = {
  token: ['http://hl7.org/fhir/sid/us-ssn|444222222', 'active', '|x'],
  string: ['smi'],
  reference: ['Patient/example', 'example'],
  date: ['2020', 'ge2020-01-01', 'lt2021-06-01T10:00:00Z', 'ne2020'],
  uri: ['http://example.org/fhir/x'],
  number: ['5', 'gt5'],
  quantity: ['5', 'le5||mg'],
};

let dir: string;
let store: StorePort;
let index: SearchIndex;
let db: Sqlite.Database;
/** Cases whose query reached SQLite (the others named a value no example has). */
let planned = 0;

beforeAll(async () => {
  dir = await tempDir();
  store = createEmbeddedStore({ dir });
  await store.open();
  index = createSearchIndex({ definitions: r4Definitions(), resourceTypes: TYPES });
  const lastUpdated = new Date().toISOString();
  for (const type of TYPES) {
    for (const { resource } of officialExamples(type)) {
      const record = { resourceType: type, id: resource.id!, versionId: 1, lastUpdated, deleted: false, resource, index: index.extract(resource) };
      await store.commit([{ record, expectedVersion: 0 }]).catch(() => {}); // an example id used twice: keep the first
    }
  }
  db = new Sqlite(databasePath(dir), { readonly: true });
});

afterAll(async () => {
  db?.close();
  await store?.close();
  await removeDir(dir);
});

/** The store's query context over the test's database (its path ids as stored). */
function queryContext(): QueryContext {
  return { statements: new StatementCache(db), paths: new PathCatalog(db), unindexed: {} };
}

function plan(filter: Filter, sort: Record<string, 1 | -1>, withTotal = false, collection: 'current' | 'history' = 'current'): { detail: string; empty: boolean; counted: boolean } {
  const { sql, where, counted } = findSql(queryContext(), collection, filter, { sort, limit: 21 }, withTotal);
  const detail = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...where.params) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
  return { detail, empty: where.sql === '0', counted };
}

const cases = TYPES.flatMap((type) =>
  [...createSearchIndex({ definitions: r4Definitions(), resourceTypes: TYPES }).params(type).values()]
    .filter((def) => VALUES[def.type] && !def.code.startsWith('_'))
    .flatMap((def) => VALUES[def.type].map((value) => ({ type, code: def.code, value }))),
);

describe('embedded store: searches start from the search-value index', () => {
  it('covers every parameter of the seven types', () => expect(cases.length).toBeGreaterThan(200));

  it.each(cases)('$type?$code=$value', ({ type, code, value }) => {
    const filter: Filter = { $and: [{ resourceType: type, deleted: false }, index.compile(type, code, undefined, [value])] };
    const { detail, empty } = plan(filter, { id: 1 });
    if (empty) return; // a value no stored record has: answered without a query
    planned++;
    expect(detail).not.toMatch(/\bSCAN (r|v)\b/);
    // From the driver's resource numbers (`d`), or, for one value of one path, straight from its index entries.
    expect(detail).toMatch(/^(CO-ROUTINE d|SEARCH search_values USING PRIMARY KEY)\b/);
  });

  it('ran most of those cases as real queries', () => expect(planned).toBeGreaterThan(100));

  it('walks a type in id order without sorting for a page, and keyset pages seek', () => {
    expect(plan({ $and: [{ resourceType: 'Patient', deleted: false }] }, { id: 1 }).detail).not.toMatch(/TEMP B-TREE|SCAN (r|v)\b/);
    expect(plan({ $and: [{ resourceType: 'Patient', deleted: false }, { id: { $gt: 'pat-1' } }] }, { id: 1 }).detail).toMatch(/SEARCH r USING (PRIMARY KEY|INDEX \w+) \(type=\? AND (deleted=\? AND )?id>\?\)/);
    expect(plan({ resourceType: 'AuditEvent', deleted: false }, { lastUpdated: -1, id: -1 }).detail).toMatch(/SEARCH r USING INDEX current_by_updated/);
  });

  it('sorts the version ids of a page, not its records, which it reads afterwards by id (issue 13)', () => {
    const filter: Filter = { $and: [{ resourceType: 'Patient', deleted: false }, index.compile('Patient', 'family', undefined, ['Ch'])] };
    const { detail } = plan(filter, { id: 1 });
    // The sorter holds ids only: no record table is read by the query that sorts.
    expect(detail).toMatch(/^CO-ROUTINE d\b/);
    expect(detail).not.toMatch(/\bversions\b.*\bv\b|SEARCH v\b/);
  });

  it('counts the matches of a page started from the index in the page query, and not those of a walk in sort order (issue 13)', async () => {
    const filter: Filter = { $and: [{ resourceType: 'Patient', deleted: false }, index.compile('Patient', 'gender', undefined, ['male'])] };
    const driven = plan(filter, { id: 1 }, true);
    expect(driven.counted).toBe(true);
    // The matches are materialized once, counted there, and only the page is kept by the sorter.
    expect(driven.detail).toMatch(/^MATERIALIZE m \| SEARCH search_values USING PRIMARY KEY\b/);
    expect(driven.detail).not.toMatch(/\bSCAN (r|v)\b|\bWINDOW\b/);
    // A walk stops at the page; counting in its pass would read every record of the type.
    const walk = plan({ $and: [{ resourceType: 'Patient', deleted: false }] }, { id: 1 }, true);
    expect(walk.counted).toBe(false);
    expect(walk.detail).not.toMatch(/TEMP B-TREE|SCAN (r|v)\b/);
    const all = await store.find('current', filter, { sort: { id: 1 } });
    const { records, total } = await store.findCounted!('current', filter, { sort: { id: 1 }, limit: 2 });
    expect(total).toBe(all.length);
    expect(records).toEqual(all.slice(0, 2));
  });

  it('does not test the condition its driver decides again on every candidate (issue 13)', async () => {
    const ctx = queryContext();
    const family = index.compile('Patient', 'family', undefined, ['Ch']);
    const gender = index.compile('Patient', 'gender', undefined, ['male']);
    const alone = findSql(ctx, 'current', { $and: [{ resourceType: 'Patient', deleted: false }, family] }, { sort: { id: 1 }, limit: 21 });
    expect(alone.sql).toMatch(/^SELECT r\.vid AS vid FROM \(SELECT DISTINCT rid FROM \(SELECT rid FROM search_values WHERE pid = \d+ AND value >= \? AND value < \?\)\) d/);
    expect(alone.sql).not.toMatch(/EXISTS/);
    // Two criteria: the query starts from one and tests the other.
    const both = findSql(ctx, 'current', { $and: [{ resourceType: 'Patient', deleted: false }, family, gender] }, { sort: { id: 1 }, limit: 21 });
    expect(both.sql.match(/EXISTS/g)).toHaveLength(1);
    for (const filter of [{ $and: [{ resourceType: 'Patient', deleted: false }, family] }, { $and: [{ resourceType: 'Patient', deleted: false }, family, gender] }]) {
      const all = (await store.find('current', { resourceType: 'Patient' })).filter((r) => !r.deleted);
      const expected = all.filter((r) => new Query(filter).test(r as unknown as Record<string, unknown>)).map((r) => r.id).sort();
      expect(expected.length).toBeGreaterThan(0);
      const { records, total } = await store.findCounted!('current', filter, { sort: { id: 1 }, limit: 100 });
      expect([records.map((r) => r.id), total]).toEqual([expected, expected.length]);
    }
  });

  it('reads the matches of a page started from the index through a covering index, never the current table (issue 13)', () => {
    const family = { $and: [{ resourceType: 'Patient', deleted: false }, index.compile('Patient', 'family', undefined, ['Ch'])] };
    // The bench's appointments: the practitioner's few drive, the date is tested on each.
    const appointments = { $and: [{ resourceType: 'Appointment', deleted: false }, index.compile('Appointment', 'practitioner', undefined, ['Practitioner/example']), index.compile('Appointment', 'date', undefined, ['ge2013-01-01'])] };
    for (const [filter, withTotal] of [[family, true], [family, false], [appointments, true]] as const) {
      const { detail, empty } = plan(filter, { id: 1 }, withTotal);
      expect(empty).toBe(false);
      // One probe of `current_by_rid_match` per match: rid, type and deleted decided, id and vid read from it.
      expect(detail).toMatch(/SEARCH r USING COVERING INDEX current_by_rid_match \(rid=\? AND type=\? AND deleted=\?\)/);
      expect(detail).not.toMatch(/SEARCH r USING (PRIMARY KEY|INDEX current_by_rid )/);
    }
  });

  it('reads the index entries of a single driver once, counting them in the page query instead of estimating first (issue 13)', async () => {
    const ctx = queryContext();
    const family = { $and: [{ resourceType: 'Patient', deleted: false }, index.compile('Patient', 'family', undefined, ['Ch'])] };
    const gender = { $and: [{ resourceType: 'Patient', deleted: false }, index.compile('Patient', 'gender', undefined, ['male'])] };
    for (const [filter, withTotal] of [[family, true], [family, false], [gender, true], [gender, false]] as const) {
      const found = tentativeSql(ctx, 'current', filter, { sort: { id: 1 }, limit: 21 }, withTotal)!;
      expect(found.sql).toContain(`LIMIT ${DRIVER_LIMIT})`);
      const detail = (db.prepare(`EXPLAIN QUERY PLAN ${found.sql}`).all(...found.where.params) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
      // The entries once, into `e`; each match probed through the covering index; no scan of a record table, no second search of the entries.
      expect(detail).toMatch(/MATERIALIZE e \| SEARCH search_values USING PRIMARY KEY/);
      expect(detail.match(/SEARCH search_values/g)).toHaveLength(1);
      expect(detail).toMatch(/SEARCH r USING COVERING INDEX current_by_rid_match \(rid=\? AND type=\? AND deleted=\?\)/);
      expect(detail).not.toMatch(/\bSCAN (r|v)\b/);
      const rows = db.prepare(found.sql).all(...found.where.params) as Array<{ vid: number; total?: number; entries: number }>;
      const all = await store.find('current', filter, { sort: { id: 1 } });
      expect(rows[0].entries).toBeGreaterThanOrEqual(all.length);
      if (withTotal) expect(rows[0].total).toBe(all.length);
      const { records, total } = await store.findCounted!('current', filter, { sort: { id: 1 }, limit: 21 });
      expect({ ids: records.map((r) => r.id), total }).toEqual({ ids: all.slice(0, 21).map((r) => r.id), total: all.length });
    }
    // Two drivers, or none: the usual plan.
    const both = { $and: [{ resourceType: 'Patient', deleted: false }, index.compile('Patient', 'family', undefined, ['Ch']), index.compile('Patient', 'gender', undefined, ['male'])] };
    expect(tentativeSql(ctx, 'current', both, { sort: { id: 1 }, limit: 21 }, true)).toBeUndefined();
    expect(tentativeSql(ctx, 'current', { $and: [{ resourceType: 'Patient', deleted: false }] }, { sort: { id: 1 }, limit: 21 }, true)).toBeUndefined();
  });

  it('answers a page the same through the id query as the records in sort order', async () => {
    const filter: Filter = { $and: [{ resourceType: 'Patient', deleted: false }, index.compile('Patient', 'gender', undefined, ['male'])] };
    const all = await store.find('current', filter, { sort: { id: -1 } });
    expect(all.length).toBeGreaterThan(1);
    const page = await store.find('current', filter, { sort: { id: -1 }, limit: 2 });
    expect(page.map((r) => r.id)).toEqual(all.slice(0, 2).map((r) => r.id));
    expect(page[0].resource).toEqual(all[0].resource);
  });

  it.each([
    { name: 'id', sort: { id: 1 } },
    // What `_sort=-family` sorts on (search/index/fields.ts).
    { name: 'a search value, descending, then id', sort: { 'index.family__sort_desc': -1, id: 1 } },
    { name: 'lastUpdated and id, descending', sort: { lastUpdated: -1, id: -1 } },
  ] as Array<{ name: string; sort: Record<string, 1 | -1> }>)('counts a page started from the index in its own query, in any order: $name (issue 13)', async ({ sort }) => {
    const filter: Filter = { $and: [{ resourceType: 'Patient', deleted: false }, index.compile('Patient', 'gender', undefined, ['male', 'female'])] };
    expect(plan(filter, sort, true).counted).toBe(true);
    const all = await store.find('current', filter, { sort });
    expect(all.length).toBeGreaterThan(3);
    const { records, total } = await store.findCounted!('current', filter, { sort, limit: 3 });
    expect({ ids: records.map((r) => r.id), total }).toEqual({ ids: all.slice(0, 3).map((r) => r.id), total: all.length });
  });

  it('starts a history query on search values from both value tables, every version of the resources found read by key (issue 17)', () => {
    const filter: Filter = { $and: [{ resourceType: 'Patient' }, index.compile('Patient', 'family', undefined, ['Ch'])] };
    const { detail } = plan(filter, { lastUpdated: -1, id: -1 }, false, 'history');
    expect(detail).toMatch(/^CO-ROUTINE d\b/);
    expect(detail).toMatch(/SEARCH search_values USING PRIMARY KEY .*SEARCH ended_values USING PRIMARY KEY/);
    expect(detail).toMatch(/SEARCH r USING INDEX versions_by_key \(type=\? AND id=\?\)/);
    expect(detail).not.toMatch(/\bSCAN (r|v)\b/);
  });
});

describe('embedded store: a database written before current_by_rid_match', () => {
  it('gets the index when opened, without a schema version of its own, and answers as before (issue 13)', async () => {
    const other = await tempDir();
    try {
      let { store: opened } = await openStore(other);
      const lastUpdated = new Date().toISOString();
      for (const { resource } of officialExamples('Patient').slice(0, 5)) {
        await opened.commit([{ record: { resourceType: 'Patient', id: resource.id!, versionId: 1, lastUpdated, deleted: false, resource, index: index.extract(resource) }, expectedVersion: 0 }]);
      }
      await opened.close();
      const indexNames = (db: Sqlite.Database): string[] => db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'current'").pluck().all() as string[];
      withDatabase(other, (db) => db.exec('DROP INDEX current_by_rid_match'));
      ({ store: opened } = await openStore(other));
      const ids = (await opened.find('current', { resourceType: 'Patient', deleted: false }, { sort: { id: 1 } })).map((r) => r.id);
      await opened.close();
      expect(ids).toHaveLength(5);
      const after = withDatabase(other, (db) => ({ names: indexNames(db), version: db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() }), { readonly: true });
      expect(after.names).toContain('current_by_rid_match');
      expect(after.version).toBe(SCHEMA_VERSION);
    } finally {
      await removeDir(other);
    }
  });
});
