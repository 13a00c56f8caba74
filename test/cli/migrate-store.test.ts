import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateStore, parseMigrateArgs, UsageError } from '../../src/cli/migrate.js';
import { createEmbeddedStore } from '../../src/store/embedded/index.js';
import type { StorePort, StoredRecord } from '../../src/store/port.js';
import { describeMongo, dropDatabase, openMongoStore, testDatabase } from '../support/mongo.js';
import { ROOT_DIR } from '../support/server.js';
import { record, seed } from '../store/contract-support.js';
import { removeDir, tempDir } from '../store/embedded-support.js';
import { nodeScript } from '../support/node-script.js';

const opened: Array<{ store: StorePort; cleanup: () => Promise<void> }> = [];
afterEach(async () => {
  for (const { store, cleanup } of opened.splice(0)) {
    await store.close();
    await cleanup();
  }
});

async function embedded(): Promise<StorePort> {
  const dir = await tempDir();
  const store = createEmbeddedStore({ dir });
  await store.open();
  opened.push({ store, cleanup: () => removeDir(dir) });
  return store;
}

/** Three resources: one with three versions, one deleted, one encrypted-looking with index tokens. */
const RECORDS: StoredRecord[] = [
  record('Patient', 'a', { index: { family: [{ f: 'smith' }] } }),
  record('Patient', 'a', { versionId: 2, index: { family: [{ f: 'smyth' }] } }),
  record('Patient', 'a', { versionId: 3, resource: { active: true } }),
  record('Patient', 'b'),
  record('Patient', 'b', { versionId: 2, deleted: true }),
  record('MedicationRequest', 'm', { resource: { extension: [{ url: 'https://fhirgate.dev/jwe', valueString: 'eyJ.x.y.z' }] }, index: { subject: [{ r: 'hmac:91ab' }] } }),
];

async function snapshot(store: StorePort): Promise<{ current: StoredRecord[]; history: StoredRecord[] }> {
  return {
    current: await store.find('current', {}, { sort: { resourceType: 1, id: 1 } }),
    history: await store.find('history', {}, { sort: { resourceType: 1, id: 1, versionId: 1 } }),
  };
}

/** The same checks on any pair of stores: a full copy, then nothing on a second run, then only what changed. */
async function roundTrip(source: StorePort, target: StorePort): Promise<void> {
  await seed(source, RECORDS);
  const progress: Array<[number, number]> = [];
  const first = await migrateStore(source, target, { pageSize: 2, onProgress: (done, total) => progress.push([done, total]) });
  expect(first).toMatchObject({ resources: 3, copiedResources: 3, copiedVersions: 6, upToDate: 0, conflicts: [], countsMatch: true });
  expect(first.counts).toEqual({ source: { current: 3, history: 6 }, target: { current: 3, history: 6 } });
  expect(progress[0]).toEqual([0, 3]);
  expect(progress.at(-1)).toEqual([3, 3]);
  expect(await snapshot(target)).toEqual(await snapshot(source)); // byte for byte, history included

  const again = await migrateStore(source, target);
  expect(again).toMatchObject({ copiedResources: 0, copiedVersions: 0, upToDate: 3, conflicts: [], countsMatch: true });

  await seed(source, [record('Patient', 'a', { versionId: 4 }), record('Patient', 'c')]);
  const incremental = await migrateStore(source, target);
  expect(incremental).toMatchObject({ resources: 4, copiedResources: 2, copiedVersions: 2, upToDate: 2, countsMatch: true });
  expect(await snapshot(target)).toEqual(await snapshot(source));
}

describe('migrate: copying stores', () => {
  it('copies every resource with its history, idempotently, then only what changed', async () => {
    await roundTrip(await embedded(), await embedded());
  });

  it('reports a target that is ahead or differs, leaves it alone, and fails the count check', async () => {
    const source = await embedded();
    const target = await embedded();
    await seed(source, [record('Patient', 'a'), record('Patient', 'b')]);
    await seed(target, [record('Patient', 'a'), record('Patient', 'a', { versionId: 2 }), record('Patient', 'b', { lastUpdated: '2000-01-01T00:00:00.000Z' }), record('Patient', 'z')]);
    const report = await migrateStore(source, target);
    expect(report.conflicts).toEqual([
      'Patient/a: the target is ahead (version 2, source 1)',
      "Patient/b: the target's version 1 differs from the source's (lastUpdated 2000-01-01T00:00:00.000Z vs 2024-01-01T00:00:01.000Z)",
    ]);
    expect(report.countsMatch).toBe(false);
    expect((await target.find('current', { id: 'a' }))[0].versionId).toBe(2);
  });
});

describe('migrate: command line', () => {
  it.each([
    [['--from', 'embedded', '--to', 'mongo'], { from: 'embedded', to: 'mongo' }],
    [['--from=mongo', '--to=embedded'], { from: 'mongo', to: 'embedded' }],
    [['--from', 'legacy', '--to', 'embedded'], { from: 'legacy', to: 'embedded' }],
    [['--from', 'legacy', '--to', 'mongo'], { from: 'legacy', to: 'mongo' }],
  ])('reads %j', (args, expected) => {
    expect(parseMigrateArgs(args)).toEqual(expected);
  });

  it.each([[['--from', 'embedded']], [['--from', 'mongo', '--to', 'mongo']], [['--from', 'embedded', '--to', 'postgres']], [['--from', 'embedded', '--to', 'mongo', '--fast']], [['--from', 'embedded', '--to', 'legacy']]])('refuses %j', (args) => {
    expect(() => parseMigrateArgs(args)).toThrow(UsageError);
  });

  it('needs MONGODB_URI and says so', async () => {
    const env = { ...process.env, MONGODB_URI: '', DATA_DIR: await tempDir() };
    const run = promisify(execFile)(process.execPath, [...nodeScript('src/cli/migrate-store.ts'), '--from', 'embedded', '--to', 'mongo'], { cwd: ROOT_DIR, env });
    const err = await run.catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/migrate: MONGODB_URI must be set/);
    await removeDir(env.DATA_DIR);
  });
});

describeMongo('migrate: embedded ⇄ MongoDB', () => {
  it('copies to MongoDB and back, with the same checks', async () => {
    const db = testDatabase('migrate');
    const mongo = await openMongoStore(db);
    opened.push({ store: mongo, cleanup: () => dropDatabase(db) });
    await roundTrip(await embedded(), mongo);
    const back = await embedded();
    const report = await migrateStore(mongo, back);
    expect(report).toMatchObject({ copiedResources: 4, countsMatch: true, conflicts: [] });
    expect(await snapshot(back)).toEqual(await snapshot(mongo));
  });
});
