import { Query } from 'mingo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resource } from '@medplum/fhirtypes';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { createSearchIndex } from '../../src/search/index/index.js';
import { recordColumns } from '../../src/store/embedded/record-format.js';
import { SCHEMA_VERSION } from '../../src/store/embedded/schema.js';
import { encodeString, searchValueRows, type SearchValueRow } from '../../src/store/embedded/search-values.js';
import type { Filter, StoredRecord, StorePort } from '../../src/store/port.js';
import { officialExamples } from '../support/corpus.js';
import { openStore, removeDir, tempDir, withDatabase } from './embedded-support.js';

/**
 * Issue 13: schema 7 gives each resource type its own path ids. A DATA_DIR written by schema 6
 * (one id per path, shared by every type: `MedicationRequest?patient=X` read the rows of every
 * AuditEvent and Appointment naming X too) opens, has every value row re-keyed to its resource's
 * type's id, and answers searches pinned to a type, and searches not pinned to one, as before,
 * on current records and on history, and keeps answering them after new versions.
 */

/** The tables of schema 6, as FhirGate wrote them (src/store/embedded/schema.ts before issue 13's `paths (type, path)`). */
const SCHEMA_6 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE versions (vid INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, last_updated TEXT NOT NULL, deleted INTEGER NOT NULL, txn INTEGER NOT NULL, record TEXT NOT NULL, idx TEXT);
CREATE UNIQUE INDEX versions_by_key ON versions (type, id, version);
CREATE INDEX versions_by_updated ON versions (type, last_updated, id, version);
CREATE INDEX versions_by_updated_all ON versions (last_updated, type, id, version);
CREATE TABLE current (type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, last_updated TEXT NOT NULL, deleted INTEGER NOT NULL, vid INTEGER NOT NULL, rid INTEGER, PRIMARY KEY (type, id)) WITHOUT ROWID;
CREATE UNIQUE INDEX current_by_vid ON current (vid);
CREATE UNIQUE INDEX current_by_rid ON current (rid);
CREATE INDEX current_by_rid_match ON current (rid, type, deleted, id, vid);
CREATE INDEX current_by_deleted_id ON current (type, deleted, id);
CREATE INDEX current_by_updated ON current (type, deleted, last_updated, id);
CREATE TABLE paths (pid INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE search_values (pid INTEGER NOT NULL, value NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (pid, value, rid)) WITHOUT ROWID;
CREATE INDEX search_values_by_rid ON search_values (rid);
CREATE TABLE ended_values (pid INTEGER NOT NULL, value NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (pid, value, rid)) WITHOUT ROWID;
CREATE INDEX ended_values_by_rid ON ended_values (rid);
CREATE TABLE deferred (vid INTEGER PRIMARY KEY);
INSERT INTO meta (key, value) VALUES ('schema', 6);
`;

/** A row's identity within one resource: its path and value (blobs compared by their bytes). */
const rowKey = ({ path, value }: SearchValueRow): string => `${path}\n${Buffer.isBuffer(value) ? `b${value.toString('hex')}` : `n${value}`}`;
const rowsByKey = (record: StoredRecord): Map<string, SearchValueRow> => new Map(searchValueRows(record.index).map((row) => [rowKey(row), row]));

/**
 * Writes the versions (in order) the way schema 6 stored them: a row per version, a `current` row
 * per resource numbered by its first version, its current version's values in `search_values` and
 * those only earlier versions had in `ended_values`, every path under one id whatever the type.
 */
function writeSchema6(dir: string, versions: readonly StoredRecord[]): void {
  withDatabase(dir, (db) => {
    db.exec(SCHEMA_6);
    const insertVersion = db.prepare('INSERT INTO versions (type, id, version, last_updated, deleted, txn, record, idx) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const upsertCurrent = db.prepare('INSERT OR REPLACE INTO current (type, id, version, last_updated, deleted, vid, rid) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const insertPath = db.prepare('INSERT INTO paths (path) VALUES (?)');
    const insertValue = db.prepare('INSERT OR IGNORE INTO search_values (pid, value, rid) VALUES (?, ?, ?)');
    const insertEnded = db.prepare('INSERT OR IGNORE INTO ended_values (pid, value, rid) VALUES (?, ?, ?)');
    const pathIds = new Map<string, number>();
    const pidOf = (path: string): number => {
      if (!pathIds.has(path)) pathIds.set(path, Number(insertPath.run(path).lastInsertRowid));
      return pathIds.get(path)!;
    };
    db.transaction(() => {
      const resources = new Map<string, { rid: number; versions: StoredRecord[] }>();
      versions.forEach((record, i) => {
        const { record: text, idx } = recordColumns(record);
        const deleted = record.deleted ? 1 : 0;
        const vid = Number(insertVersion.run(record.resourceType, record.id, record.versionId, record.lastUpdated, deleted, i + 1, text, idx).lastInsertRowid);
        const key = `${record.resourceType}/${record.id}`;
        if (!resources.has(key)) resources.set(key, { rid: vid, versions: [] });
        const resource = resources.get(key)!;
        resource.versions.push(record);
        upsertCurrent.run(record.resourceType, record.id, record.versionId, record.lastUpdated, deleted, vid, resource.rid);
      });
      for (const { rid, versions: history } of resources.values()) {
        const live = rowsByKey(history.at(-1)!);
        for (const row of live.values()) insertValue.run(pidOf(row.path), row.value, rid);
        for (const earlier of history.slice(0, -1)) for (const [key, row] of rowsByKey(earlier)) if (!live.has(key)) insertEnded.run(pidOf(row.path), row.value, rid);
      }
    })();
  });
}

const TYPES = ['Patient', 'MedicationRequest', 'AuditEvent', 'Appointment'];
const index = createSearchIndex({ definitions: r4Definitions(), resourceTypes: TYPES });

/** The official examples of a type, once per id. */
const examplesOf = (type: string): Resource[] =>
  officialExamples(type)
    .map(({ resource }) => resource)
    .filter((resource, i, all) => all.findIndex((r) => r.id === resource.id) === i);
const exampleOf = (type: string, id: string): Resource => examplesOf(type).find((r) => r.id === id)!;

const stored = (resource: Resource, versionId: number, deleted = false): StoredRecord => ({
  resourceType: resource.resourceType,
  id: resource.id!,
  versionId,
  lastUpdated: new Date(Date.UTC(2024, 0, 1, 0, versionId)).toISOString(),
  deleted,
  ...(deleted ? {} : { resource: { ...resource, meta: { versionId: String(versionId) } } }),
  index: index.extract(resource),
});

/** A prescription for another patient (its `patient` and `subject` follow `subject`). */
const prescribedFor = (prescription: Resource, patient: string, status: string): Resource => ({ ...prescription, subject: { reference: patient }, status }) as Resource;
/** An AuditEvent about another patient (its `patient` search reads `entity.what`). */
const auditAbout = (event: Resource, patient: string, action = 'R'): Resource => ({ ...event, action, entity: [{ what: { reference: patient } }] }) as Resource;
/** A read of a patient's record, as the server writes one per read. */
const readOf = (id: string, patient: string): Resource =>
  ({
    resourceType: 'AuditEvent',
    id,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    action: 'R',
    recorded: '2024-01-01T00:00:00Z',
    agent: [{ requestor: true, who: { identifier: { value: 'dr-upgrade' } } }],
    source: { observer: { display: 'FhirGate' } },
    entity: [{ what: { reference: patient } }],
  }) as Resource;

/**
 * Every official example of the four types, a read of Patient/pat1 (whose prescriptions are the
 * examples'), then second versions: a prescription moved to Patient/example (the patient of two
 * AuditEvents and every Appointment: `index.patient.r` shared by three types with one value), an
 * AuditEvent moved to Patient/pat1, a cancelled Appointment, a deleted one, a deactivated patient.
 */
function versionsOf(): StoredRecord[] {
  return [
    ...TYPES.flatMap((type) => examplesOf(type).map((r) => stored(r, 1))),
    stored(readOf('read-pat1', 'Patient/pat1'), 1),
    stored(prescribedFor(exampleOf('MedicationRequest', 'medrx0301'), 'Patient/example', 'stopped'), 2),
    stored(auditAbout(exampleOf('AuditEvent', 'example-rest'), 'Patient/pat1', 'E'), 2),
    stored({ ...exampleOf('Appointment', 'example'), status: 'cancelled' } as Resource, 2),
    stored(exampleOf('Appointment', 'examplereq'), 2, true),
    stored({ ...exampleOf('Patient', 'pat1'), active: false } as Resource, 2),
  ];
}

/** Search filters of real parameters of each type, as the pipeline compiles them. */
const SEARCHES: Array<[string, string, string]> = [
  ['MedicationRequest', 'patient', 'Patient/example'],
  ['MedicationRequest', 'patient', 'Patient/pat1'],
  ['MedicationRequest', 'subject', 'Patient/example'],
  ['MedicationRequest', 'status', 'active'],
  ['MedicationRequest', 'status', 'stopped'],
  ['MedicationRequest', 'identifier', '12345'],
  ['MedicationRequest', 'code', 'http://www.nlm.nih.gov/research/umls/rxnorm|884308'],
  ['AuditEvent', 'patient', 'Patient/example'],
  ['AuditEvent', 'patient', 'Patient/pat1'],
  ['AuditEvent', 'action', 'E'],
  ['AuditEvent', 'type', 'http://terminology.hl7.org/CodeSystem/audit-event-type|rest'],
  ['Appointment', 'patient', 'Patient/example'],
  ['Appointment', 'actor', 'Patient/example'],
  ['Appointment', 'status', 'booked'],
  ['Appointment', 'status', 'cancelled'],
  ['Patient', 'identifier', '12345'],
  ['Patient', 'family', 'Chalmers'],
  ['Patient', 'gender', 'male'],
  ['Patient', 'active', 'false'],
];
const filterOf = ([type, code, value]: [string, string, string]): Filter => ({ $and: [{ resourceType: type }, index.compile(type, code, undefined, [value])] });
/** Not pinned to a type: what a `_type`-less system search on the shared value compiles to. */
const UNPINNED: Filter = { 'index.patient.r': 'Patient/example' };

const key = (r: StoredRecord): string => `${r.resourceType}/${r.id}/${r.versionId}`;
const expected = (records: readonly StoredRecord[], filter: Filter): string[] =>
  records
    .filter((r) => new Query(filter).test(r as unknown as Record<string, unknown>))
    .map(key)
    .sort();
const found = (records: readonly StoredRecord[]): string[] => records.map(key).sort();
const currentOf = (versions: readonly StoredRecord[]): StoredRecord[] => [...new Map(versions.map((r) => [`${r.resourceType}/${r.id}`, r])).values()];

/** Every value row as (type of its resource, path, value, rid): what the upgrade must keep, whatever the pids. */
const VALUE_ROWS = (table: string): string =>
  `SELECT c.type || ' ' || p.path || ' ' || quote(s.value) || ' ' || s.rid FROM ${table} s JOIN current c ON c.rid = s.rid JOIN paths p ON p.pid = s.pid ORDER BY 1`;

describe('embedded store: schema 6 databases (one path id shared by every type)', () => {
  let dir: string;
  let store: StorePort;
  let all: StoredRecord[];
  const before = new Map<string, { count: number; rows: string[] }>();
  /** `index.patient.r` in the schema 6 file: its ids, and the types of the resources whose current rows hold Patient/example there. */
  let sharedBefore: { pids: number; types: unknown[] };

  beforeAll(async () => {
    dir = await tempDir();
    all = versionsOf();
    writeSchema6(dir, all);
    withDatabase(dir, (db) => {
      for (const table of ['search_values', 'ended_values']) {
        before.set(table, { count: db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number, rows: db.prepare(VALUE_ROWS(table)).pluck().all() as string[] });
      }
      sharedBefore = {
        pids: db.prepare("SELECT count(*) FROM paths WHERE path = 'index.patient.r'").pluck().get() as number,
        types: db
          .prepare("SELECT DISTINCT c.type FROM search_values s JOIN paths p ON p.pid = s.pid JOIN current c ON c.rid = s.rid WHERE p.path = 'index.patient.r' AND s.value = ? ORDER BY 1")
          .pluck()
          .all(encodeString('Patient/example')),
      };
    }, { readonly: true });
    ({ store } = await openStore(dir));
  });

  afterAll(async () => {
    await store?.close();
    await removeDir(dir);
  });

  it('share path ids between types before the upgrade (the data exercises the change)', () => {
    expect(sharedBefore).toEqual({ pids: 1, types: ['Appointment', 'AuditEvent', 'MedicationRequest'] });
    expect(before.get('search_values')!.count).toBeGreaterThan(0);
    expect(before.get('ended_values')!.count).toBeGreaterThan(0);
  });

  it('are upgraded in place: schema 7, typed paths, no table of the upgrade left, the value indexes rebuilt', () => {
    withDatabase(dir, (db) => {
      expect(db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe(SCHEMA_VERSION);
      expect(SCHEMA_VERSION).toBe(7);
      expect(db.prepare("SELECT name FROM pragma_table_info('paths')").pluck().all()).toContain('type');
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
      for (const left of ['paths_v6', 'search_values_v6', 'ended_values_v6']) expect(tables).not.toContain(left);
      const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").pluck().all();
      expect(indexes).toEqual(expect.arrayContaining(['search_values_by_resource', 'ended_values_by_resource']));
      // The old tables' indexes went with them.
      expect(indexes).not.toContain('search_values_by_rid');
      expect(indexes).not.toContain('ended_values_by_rid');
    }, { readonly: true });
  });

  it.each(['search_values', 'ended_values'])('re-key every row of %s to its resource type\'s path id, keeping every row', (table) => {
    withDatabase(dir, (db) => {
      const foreign = db.prepare(`SELECT count(*) FROM ${table} s JOIN current c ON c.rid = s.rid JOIN paths p ON p.pid = s.pid WHERE p.type <> c.type`).pluck().get();
      expect(foreign).toBe(0);
      expect(db.prepare(`SELECT count(*) FROM ${table}`).pluck().get()).toBe(before.get(table)!.count);
      // Same (type, path, value, resource) rows: only the pids changed.
      expect(db.prepare(VALUE_ROWS(table)).pluck().all()).toEqual(before.get(table)!.rows);
    }, { readonly: true });
  });

  it('give a path shared by several types an id per type', () => {
    withDatabase(dir, (db) => {
      const typesOf = (path: string): unknown[] => db.prepare('SELECT type FROM paths WHERE path = ? ORDER BY type').pluck().all(path);
      expect(typesOf('index.patient.r')).toEqual(['Appointment', 'AuditEvent', 'MedicationRequest']);
      expect(typesOf('index.identifier.c')).toEqual(['Appointment', 'MedicationRequest', 'Patient']);
      const pids = db.prepare("SELECT count(DISTINCT pid) FROM paths WHERE path = 'index.patient.r'").pluck().get();
      expect(pids).toBe(3);
    }, { readonly: true });
  });

  it.each(SEARCHES)('answer %s?%s=%s on current records and on history as the records say', async (type, code, value) => {
    const filter = filterOf([type, code, value]);
    expect(found(await store.find('current', filter))).toEqual(expected(currentOf(all), filter));
    expect(await store.count('current', filter)).toBe(expected(currentOf(all), filter).length);
    expect(found(await store.find('history', filter))).toEqual(expected(all, filter));
  });

  it('find something for most of those searches, and only the searched type on the shared value', () => {
    expect(SEARCHES.filter((s) => expected(currentOf(all), filterOf(s)).length > 0).length).toBeGreaterThanOrEqual(15);
    expect(expected(currentOf(all), filterOf(['MedicationRequest', 'patient', 'Patient/example']))).toEqual(['MedicationRequest/medrx0301/2']);
    expect(expected(currentOf(all), filterOf(['AuditEvent', 'patient', 'Patient/example']))).toEqual(['AuditEvent/example-disclosure/1']);
    // example-rest named Patient/example in its first version only: a row of ended_values.
    expect(expected(all, filterOf(['AuditEvent', 'patient', 'Patient/example']))).toEqual(['AuditEvent/example-disclosure/1', 'AuditEvent/example-rest/1']);
    expect(expected(currentOf(all), filterOf(['Appointment', 'patient', 'Patient/example'])).length).toBe(3);
  });

  it('find every type holding the shared value when the query is not pinned to a type', async () => {
    const current = expected(currentOf(all), UNPINNED);
    expect(new Set(current.map((k) => k.split('/')[0]))).toEqual(new Set(['MedicationRequest', 'AuditEvent', 'Appointment']));
    expect(found(await store.find('current', UNPINNED))).toEqual(current);
    expect(await store.count('current', UNPINNED)).toBe(current.length);
    expect(found(await store.find('history', UNPINNED))).toEqual(expected(all, UNPINNED));
  });

  it('keep answering them after new versions written by schema 7', async () => {
    const next = [
      stored(prescribedFor(exampleOf('MedicationRequest', 'medrx0302'), 'Patient/example', 'active'), 2),
      stored(prescribedFor(exampleOf('MedicationRequest', 'medrx0301'), 'Patient/pat1', 'active'), 3),
      stored(auditAbout(exampleOf('AuditEvent', 'example-disclosure'), 'Patient/pat2'), 2),
      stored(readOf('read-example', 'Patient/example'), 1),
      stored({ ...exampleOf('Appointment', 'example'), status: 'booked' } as Resource, 3),
      stored({ ...exampleOf('Patient', 'example'), gender: 'female' } as Resource, 2),
      stored({ ...exampleOf('MedicationRequest', 'medrx002'), id: 'medrx-new', subject: { reference: 'Patient/example' } } as Resource, 1),
    ];
    for (const record of next) await store.commit([{ record, expectedVersion: record.versionId - 1 }]);
    all = [...all, ...next];
    expect(expected(currentOf(all), filterOf(['MedicationRequest', 'patient', 'Patient/example']))).toEqual(['MedicationRequest/medrx-new/1', 'MedicationRequest/medrx0302/2']);
    for (const search of SEARCHES) {
      const filter = filterOf(search);
      expect(found(await store.find('current', filter)), search.join(' ')).toEqual(expected(currentOf(all), filter));
      expect(await store.count('current', filter), search.join(' ')).toBe(expected(currentOf(all), filter).length);
      expect(found(await store.find('history', filter)), search.join(' ')).toEqual(expected(all, filter));
    }
    expect(found(await store.find('current', UNPINNED))).toEqual(expected(currentOf(all), UNPINNED));
    expect(await store.count('current', UNPINNED)).toBe(expected(currentOf(all), UNPINNED).length);
    expect(found(await store.find('history', UNPINNED))).toEqual(expected(all, UNPINNED));
  });
});
