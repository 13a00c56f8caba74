import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { StorePort } from '../../src/store/port.js';
import { describeMongo, dropDatabase, openMongoStore, testDatabase } from '../support/mongo.js';
import { record, seed } from './contract-support.js';
import { openStore, removeDir, tempDir } from './embedded-support.js';

/** StorePort.purge (audit retention): every version and search value of a resource goes; the rest stays. */
async function purgeChecks(store: StorePort): Promise<void> {
  await seed(store, [
    record('AuditEvent', 'audit-1', { index: { patient: [{ r: 'Patient/p' }] } }),
    record('AuditEvent', 'audit-2', { index: { patient: [{ r: 'Patient/p' }] } }),
    record('Patient', 'p', { index: { family: [{ f: 'smith' }] } }),
    record('Patient', 'p', { versionId: 2, index: { family: [{ f: 'smyth' }] } }),
    record('Patient', 'p', { versionId: 3, deleted: true }),
    record('Patient', 'q', { index: { family: [{ f: 'smith' }] } }),
  ]);
  await store.purge!([
    { resourceType: 'AuditEvent', id: 'audit-1' },
    { resourceType: 'Patient', id: 'p' },
    { resourceType: 'Patient', id: 'never-existed' },
  ]);
  const ids = async (collection: 'current' | 'history', filter: Record<string, unknown>) =>
    (await store.find(collection, filter, { sort: { resourceType: 1, id: 1, versionId: 1 } })).map((r) => `${r.resourceType}/${r.id}/${r.versionId}`);
  expect(await ids('current', {})).toEqual(['AuditEvent/audit-2/1', 'Patient/q/1']);
  expect(await ids('history', {})).toEqual(['AuditEvent/audit-2/1', 'Patient/q/1']);
  // Search values of every purged version are gone: no stale match through the index.
  expect(await ids('history', { 'index.family.f': 'smith' })).toEqual(['Patient/q/1']);
  expect(await ids('history', { 'index.family.f': 'smyth' })).toEqual([]);
  expect(await ids('history', { 'index.patient.r': 'Patient/p' })).toEqual(['AuditEvent/audit-2/1']);
  expect(await store.count('history', { resourceType: 'Patient' })).toBe(1);
  // The id can be used again from version 1 (nothing is left to conflict with).
  await seed(store, [record('Patient', 'p')]);
  expect(await ids('current', { resourceType: 'Patient' })).toEqual(['Patient/p/1', 'Patient/q/1']);
}

describe('StorePort.purge on the embedded store', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await removeDir(dir);
    dir = undefined;
  });

  it('hard-deletes every version and search value, atomically, leaving nothing in the database', async () => {
    dir = await tempDir();
    const { store } = await openStore(dir);
    try {
      await purgeChecks(store);
    } finally {
      await store.close();
    }
    const db = new Sqlite(path.join(dir, 'fhirgate.db'), { readonly: true });
    try {
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      expect(count("SELECT count(*) AS n FROM versions WHERE id IN ('audit-1', 'never-existed')")).toBe(0);
      // Every search value belongs to a resource that exists.
      expect(count('SELECT count(*) AS n FROM search_values WHERE rid NOT IN (SELECT rid FROM current)')).toBe(0);
      expect(count('SELECT count(*) AS n FROM ended_values WHERE rid NOT IN (SELECT rid FROM current)')).toBe(0);
      expect(count('SELECT count(*) AS n FROM current WHERE vid NOT IN (SELECT vid FROM versions)')).toBe(0);
    } finally {
      db.close();
    }
  });
});

describeMongo('StorePort.purge on MongoDB', () => {
  it('hard-deletes every version, like the embedded store', async () => {
    const db = testDatabase('purge');
    const store = await openMongoStore(db);
    try {
      await purgeChecks(store);
    } finally {
      await store.close();
      await dropDatabase(db);
    }
  });
});
