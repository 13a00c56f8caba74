import Sqlite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createEmbeddedStore } from '../../src/store/embedded/index.js';
import { databasePath } from '../../src/store/embedded/files.js';
import { migrateSchema, SCHEMA_VERSION } from '../../src/store/embedded/schema.js';
import { VersionConflictError } from '../../src/store/port.js';
import { describeStoreContract } from './contract.js';
import { record, reopenableFixture, writeOf } from './contract-support.js';
import { openStore, removeDir, runAndKill, tempDir, withDatabase } from './embedded-support.js';

// Every type the contract writes: its plain creates all go through `deferred` (deferred-writes.ts).
const DEFERRED = ['Patient', 'Observation', 'MedicationRequest', 'Consent', 'Appointment', 'Basic'];

describeStoreContract('embedded, creates deferred', async () => {
  const dir = await tempDir();
  return reopenableFixture(async () => {
    const store = createEmbeddedStore({ dir, deferredTypes: DEFERRED });
    await store.open();
    return store;
  }, () => removeDir(dir));
});

/** Rows waiting in `deferred`, read beside the store as another process would. */
function pendingRows(dir: string): number {
  return withDatabase(dir, (db) => db.prepare('SELECT count(*) FROM deferred').pluck().get() as number, { fileMustExist: true });
}

describe('embedded store: deferred creates', () => {
  it('a deferred create waits as one row, is found at once, conflicts like a commit, and is moved on close', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { deferredTypes: ['AuditEvent'] });
    await store.commit([writeOf(record('AuditEvent', 'a1', { resource: { resourceType: 'AuditEvent', id: 'a1' } }))]);
    expect(pendingRows(dir)).toBe(1);
    // Queries pinned to other types leave it waiting; any query that may match it moves it first.
    expect(await store.find('current', { resourceType: 'Patient' })).toEqual([]);
    expect(pendingRows(dir)).toBe(1);
    await store.commit([writeOf(record('AuditEvent', 'a2'))]);
    await expect(store.commit([writeOf(record('AuditEvent', 'a2'))])).rejects.toBeInstanceOf(VersionConflictError);
    expect((await store.find('current', {})).map((r) => r.id)).toEqual(['a1', 'a2']);
    expect(pendingRows(dir)).toBe(0);
    await expect(store.commit([writeOf(record('AuditEvent', 'a1'))])).rejects.toBeInstanceOf(VersionConflictError);
    await store.commit([writeOf(record('AuditEvent', 'a3'))]);
    await store.close();
    expect(pendingRows(dir)).toBe(0);
    const { store: again } = await openStore(dir);
    expect(await again.count('history', { resourceType: 'AuditEvent' })).toBe(3);
    await again.close();
    await removeDir(dir);
  });

  it('a pending create is its version\'s row and its vid in `deferred`, the record written once; made current, it reads the same (schema 6, issue 14)', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { deferredTypes: ['AuditEvent'] });
    const written = record('AuditEvent', 'x1', { resource: { resourceType: 'AuditEvent', id: 'x1', action: 'R' }, index: { action: [{ c: 'R' }], date: [{ lo: '2026-01-01T00:00:00.000Z', hi: '2026-01-01T00:00:00.000Z' }] } });
    await store.commit([writeOf(written)]);
    const stored = (): { pending: number[]; version: { vid: number; record: string; idx: string | null }; current: number; values: number } =>
      withDatabase(
        dir,
        (db) => ({
          pending: db.prepare('SELECT vid FROM deferred').pluck().all() as number[],
          version: db.prepare("SELECT vid, record, idx FROM versions WHERE id = 'x1'").get() as { vid: number; record: string; idx: string | null },
          current: db.prepare("SELECT count(*) FROM current WHERE id = 'x1'").pluck().get() as number,
          values: db.prepare('SELECT count(*) FROM search_values').pluck().get() as number,
        }),
        { fileMustExist: true },
      );
    const before = stored();
    // Durable as its version, with its index apart; not current and not indexed yet.
    expect(before.pending).toEqual([before.version.vid]);
    expect([JSON.parse(before.version.record).index, JSON.parse(before.version.idx!)]).toEqual([undefined, written.index]);
    expect([before.current, before.values]).toEqual([0, 0]);
    const [found] = await store.find('current', { resourceType: 'AuditEvent', 'index.action.c': 'R' });
    expect(found).toEqual(JSON.parse(JSON.stringify(written)));
    const after = stored();
    // Moved: the same version row (not written again), now current with its value rows, and `deferred` empty.
    expect(after.pending).toEqual([]);
    expect(after.version).toEqual(before.version);
    expect(after.current).toBe(1);
    expect(after.values).toBeGreaterThan(0);
    await store.close();
    await removeDir(dir);
  });

  it('the events at the end of a write\'s commit wait too, stored with the write or not at all; other commits of the type move them first', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { deferredTypes: ['AuditEvent'] });
    await store.commit([writeOf(record('AuditEvent', 'e1'))]);
    // A write and its event (issue 14): the write in full, the event pending, in one transaction.
    await store.commit([writeOf(record('Patient', 'p1')), writeOf(record('AuditEvent', 'e2'))]);
    expect(pendingRows(dir)).toBe(2);
    expect((await store.find('current', { resourceType: 'Patient' })).map((r) => r.id)).toEqual(['p1']);
    expect(pendingRows(dir)).toBe(2);
    // An event that conflicts fails its whole commit: the write is not stored either.
    await expect(store.commit([writeOf(record('Patient', 'p2')), writeOf(record('AuditEvent', 'e2'))])).rejects.toBeInstanceOf(VersionConflictError);
    await expect(store.commit([writeOf(record('Patient', 'p2')), writeOf(record('AuditEvent', 'e1'))])).rejects.toBeInstanceOf(VersionConflictError);
    expect(await store.find('current', { resourceType: 'Patient', id: 'p2' })).toEqual([]);
    expect(pendingRows(dir)).toBe(2);
    // An event before another write of the commit is not at its end: the commit is written in full, after the pending rows.
    await store.commit([writeOf(record('AuditEvent', 'e3')), writeOf(record('Patient', 'p3'))]);
    expect(pendingRows(dir)).toBe(0);
    // Versions are in commit order, deferred or not (schema 6: a deferred create's version is written by its commit).
    expect((await store.find('history', { resourceType: 'AuditEvent' })).map((r) => r.id)).toEqual(['e1', 'e2', 'e3']);
    expect((await store.find('history', {})).map((r) => r.id)).toEqual(['e1', 'p1', 'e2', 'e3', 'p3']);
    await store.close();
    await removeDir(dir);
  });
});

/** `versions.txn` (the commit a version was written in) of each version, by id. */
function commitNumbers(dir: string): Map<string, number> {
  const rows = withDatabase(dir, (db) => db.prepare('SELECT id, txn FROM versions ORDER BY vid').all() as Array<{ id: string; txn: number }>, { fileMustExist: true });
  return new Map(rows.map((r) => [r.id, r.txn]));
}

describe('embedded store: commit numbers of deferred events', () => {
  it('an event moved later keeps the number of the commit it was part of, and a reopened store never reuses one', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { deferredTypes: ['AuditEvent'] });
    await store.commit([writeOf(record('Patient', 'p1')), writeOf(record('AuditEvent', 'e1'))]);
    await store.commit([writeOf(record('AuditEvent', 'r1'))]); // a read's event: a commit of its own
    await store.commit([writeOf(record('Patient', 'p2')), writeOf(record('AuditEvent', 'e2'))]);
    await store.commit([writeOf(record('Patient', 'p3'))]); // no event: its number is the highest, written before the move
    await store.find('current', { resourceType: 'AuditEvent' });
    const moved = commitNumbers(dir);
    expect(moved.get('e1')).toBe(moved.get('p1'));
    expect(moved.get('e2')).toBe(moved.get('p2'));
    expect(new Set([moved.get('p1'), moved.get('p2'), moved.get('p3'), moved.get('r1')]).size).toBe(4);
    await store.close();
    const { store: again } = await openStore(dir, { deferredTypes: ['AuditEvent'] });
    await again.commit([writeOf(record('Patient', 'p4'))]);
    const after = commitNumbers(dir);
    expect(after.get('p4')).toBeGreaterThan(Math.max(...[...moved.values()]));
    await again.close();
    await removeDir(dir);
  });
});

describe('embedded store: schema 1 databases', () => {
  it('are upgraded in place when opened: the deferred table is added, the data kept', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    await store.commit([writeOf(record('Patient', 'kept'))]);
    await store.close();
    // As FhirGate before schema 2 left it (the version 3 column goes too: its rows read without it).
    const db = new Sqlite(databasePath(dir));
    db.exec("DROP TABLE deferred; ALTER TABLE versions DROP COLUMN idx; UPDATE meta SET value = 1 WHERE key = 'schema'");
    db.close();
    const { store: upgraded } = await openStore(dir, { deferredTypes: ['AuditEvent'] });
    await upgraded.commit([writeOf(record('AuditEvent', 'new'))]);
    expect(pendingRows(dir)).toBe(1);
    expect((await upgraded.find('current', {})).map((r) => r.id)).toEqual(['kept', 'new']);
    await upgraded.close();
    const check = new Sqlite(databasePath(dir));
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe(SCHEMA_VERSION);
    check.close();
    await removeDir(dir);
  });
});

describe('embedded store: schema 4 databases', () => {
  it('get a deferred table without its unique key, the rows a crash left pending kept and moved (schema 5, issue 14)', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { deferredTypes: ['AuditEvent'] });
    await store.commit([writeOf(record('Patient', 'kept'))]);
    await store.close();
    // As schema 4 left it after a crash: `deferred` with UNIQUE (type, id), two events still pending in it.
    withDatabase(dir, (db) => {
      const pending = (id: string): string => JSON.stringify(record('AuditEvent', id, { resource: { resourceType: 'AuditEvent', id }, index: { action: [{ c: 'R' }] } }));
      db.exec("DROP TABLE deferred; CREATE TABLE deferred (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL, UNIQUE (type, id)); UPDATE meta SET value = 4 WHERE key = 'schema'");
      const insert = db.prepare("INSERT INTO deferred (type, id, record) VALUES ('AuditEvent', ?, ?)");
      for (const id of ['e1', 'e2']) insert.run(id, pending(id));
    });
    const uniqueKeys = (): number => withDatabase(dir, (db) => db.prepare("SELECT count(*) FROM pragma_index_list('deferred') WHERE origin = 'u'").pluck().get() as number, { fileMustExist: true });
    expect(uniqueKeys()).toBe(1);
    const { store: upgraded } = await openStore(dir, { deferredTypes: ['AuditEvent'] });
    expect(uniqueKeys()).toBe(0);
    expect(pendingRows(dir)).toBe(0);
    expect((await upgraded.find('current', { resourceType: 'AuditEvent', 'index.action.c': 'R' })).map((r) => r.id)).toEqual(['e1', 'e2']);
    // Without the table's key, a second create of a pending or a moved event is still refused.
    await upgraded.commit([writeOf(record('AuditEvent', 'e3'))]);
    await expect(upgraded.commit([writeOf(record('AuditEvent', 'e3'))])).rejects.toBeInstanceOf(VersionConflictError);
    await expect(upgraded.commit([writeOf(record('AuditEvent', 'e1'))])).rejects.toBeInstanceOf(VersionConflictError);
    expect(pendingRows(dir)).toBe(1);
    await upgraded.close();
    expect(withDatabase(dir, (db) => db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get(), { fileMustExist: true })).toBe(SCHEMA_VERSION);
    await removeDir(dir);
  });
});

describe('embedded store: schema 5 databases', () => {
  it('are upgraded in place: the whole records a crash left in `deferred` get their versions, stay pending by vid, and are moved (schema 6, issue 14)', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, { deferredTypes: ['AuditEvent'] });
    await store.commit([writeOf(record('Patient', 'kept')), writeOf(record('AuditEvent', 'with-kept'))]);
    await store.close();
    const written = ['e1', 'e2'].map((id) => record('AuditEvent', id, { resource: { resourceType: 'AuditEvent', id }, index: { action: [{ c: 'R' }] } }));
    // As schema 5 left it after a crash: `deferred` holding whole records (the index as the last member), two events pending.
    withDatabase(dir, (db) => {
      db.exec("DROP TABLE deferred; CREATE TABLE deferred (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL); UPDATE meta SET value = 5 WHERE key = 'schema'");
      const insert = db.prepare("INSERT INTO deferred (type, id, record) VALUES ('AuditEvent', ?, ?)");
      for (const r of written) insert.run(r.id, JSON.stringify(r));
    });
    const upgraded = withDatabase(dir, (db) => {
      migrateSchema(db);
      return {
        pending: db.prepare('SELECT v.id, v.txn FROM deferred d JOIN versions v ON v.vid = d.vid ORDER BY d.vid').all() as Array<{ id: string; txn: number }>,
        current: db.prepare("SELECT count(*) FROM current WHERE type = 'AuditEvent' AND id IN ('e1', 'e2')").pluck().get() as number,
        earlier: db.prepare('SELECT max(txn) FROM versions WHERE id IN (?, ?)').pluck().get('kept', 'with-kept') as number,
        columns: db.prepare("SELECT name FROM pragma_table_info('deferred')").pluck().all() as string[],
      };
    });
    // Versioned in their order under one new commit number, not yet current.
    expect(upgraded.columns).toEqual(['vid']);
    expect(upgraded.pending.map((p) => p.id)).toEqual(['e1', 'e2']);
    expect(new Set(upgraded.pending.map((p) => p.txn))).toEqual(new Set([upgraded.earlier + 1]));
    expect(upgraded.current).toBe(0);
    const { store: again } = await openStore(dir, { deferredTypes: ['AuditEvent'] });
    expect(pendingRows(dir)).toBe(0);
    const found = await again.find('current', { resourceType: 'AuditEvent', 'index.action.c': 'R' });
    expect(found).toEqual(JSON.parse(JSON.stringify(written)));
    await expect(again.commit([writeOf(record('AuditEvent', 'e1'))])).rejects.toBeInstanceOf(VersionConflictError);
    await again.commit([writeOf(record('Patient', 'next'))]);
    expect(commitNumbers(dir).get('next')).toBe(upgraded.earlier + 2);
    await again.close();
    expect(withDatabase(dir, (db) => db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get(), { fileMustExist: true })).toBe(SCHEMA_VERSION);
    await removeDir(dir);
  });
});

const WRITER = 'test/store/fixtures/deferred-writer.ts';
const WORKERS = 4;

describe('embedded store: deferred creates across kill -9', () => {
  it.skipIf(process.platform === 'win32')('keeps every acknowledged deferred create, pending or moved, and moves the pending ones on the next open', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const acked = new Set<string>();
    let pendingAtKill = 0;
    // At least three rounds, and on until a kill has landed while rows were waiting (most do).
    for (let round = 0; round < 3 || (pendingAtKill === 0 && round < 8); round++) {
      const ids = await runAndKill(WRITER, dir, 60 + Math.floor(Math.random() * 200), WORKERS);
      for (const id of ids) acked.add(id);
      pendingAtKill += pendingRows(dir);
      // Opened as the CLIs open it, without deferring: what the crash left pending is moved all the same.
      const { store } = await openStore(dir);
      expect(pendingRows(dir)).toBe(0);
      const events = new Set((await store.find('current', { resourceType: 'AuditEvent' })).map((r) => r.id));
      for (const id of acked) expect(events.has(id), `acknowledged AuditEvent/${id}`).toBe(true);
      // Searched by value, the run's last acknowledged event (most likely pending at the kill) has its value rows.
      const last = ids[ids.length - 1];
      expect((await store.find('current', { resourceType: 'AuditEvent', 'index.commit': last })).map((r) => r.id)).toEqual([last]);
      // Each ordinary commit kept its Basic version and its event together.
      for (let w = 0; w < WORKERS; w++) {
        const versions = await store.find('history', { resourceType: 'Basic', id: `w${w}` });
        for (const v of versions) expect(events.has((v.index as { commit: string }).commit)).toBe(true);
      }
      await store.close();
    }
    // The kills did land while rows were waiting, so the replay was exercised.
    expect(pendingAtKill).toBeGreaterThan(0);
    await removeDir(dir);
  });
});
