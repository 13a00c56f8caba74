import { expect, it } from 'vitest';
import { describeMongo, dropDatabase, openMongoStore, testDatabase } from '../support/mongo.js';
import { describeStoreContract } from './contract.js';
import { record, reopenableFixture, seed } from './contract-support.js';

/**
 * The shared StorePort contract on MongoDB (issue 5): the same suite the embedded store passes.
 * Runs only with MONGODB_URI; each test gets an empty database of its own.
 */
describeMongo('StorePort contract on MongoDB', () => {
  describeStoreContract('mongodb', async () => {
    const db = testDatabase('contract');
    return reopenableFixture(() => openMongoStore(db), () => dropDatabase(db));
  });
});

describeMongo('StorePort.rewrite on MongoDB', () => {
  it('replaces resource and index of existing versions in place, and skips missing ones', async () => {
    const db = testDatabase('rewrite');
    const store = await openMongoStore(db);
    try {
      const v1 = record('Patient', 'a', { index: { family: [{ f: 'old' }] } });
      const v2 = record('Patient', 'a', { versionId: 2, index: { family: [{ f: 'old2' }] } });
      await seed(store, [v1, v2]);
      await store.rewrite!([
        { ...v1, index: { family: [{ f: 'new' }] }, lastUpdated: '1999-01-01T00:00:00.000Z' },
        record('Patient', 'a', { versionId: 9 }),
        record('Patient', 'nobody'),
      ]);
      const history = await store.find('history', { resourceType: 'Patient', id: 'a' }, { sort: { versionId: 1 } });
      expect(history).toEqual([{ ...v1, index: { family: [{ f: 'new' }] } }, v2]);
      expect(await store.find('current', { resourceType: 'Patient', id: 'a' })).toEqual([v2]);
      expect(await store.count('history', {})).toBe(2);
      await store.rewrite!([{ ...v2, index: { family: [{ f: 'new2' }] } }]);
      expect((await store.find('current', { resourceType: 'Patient', id: 'a' }))[0].index).toEqual({ family: [{ f: 'new2' }] });
    } finally {
      await store.close();
      await dropDatabase(db);
    }
  });
});
