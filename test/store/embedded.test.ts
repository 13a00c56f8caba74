import { describe, expect, it } from 'vitest';
import { createEmbeddedStore } from '../../src/store/embedded/index.js';
import { describeStoreContract } from './contract.js';
import { record, reopenableFixture, writeOf } from './contract-support.js';
import { openStore, removeDir, tempDir } from './embedded-support.js';

describeStoreContract('embedded', async () => {
  const dir = await tempDir();
  return reopenableFixture(async () => {
    const store = createEmbeddedStore({ dir });
    await store.open();
    return store;
  }, () => removeDir(dir));
});

describe('embedded store: malformed writes', () => {
  it('rejects a write whose versionId does not grow, storing nothing', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir);
    const writes = [writeOf(record('Patient', 'a')), { record: record('Patient', 'b'), expectedVersion: 1 }];
    await expect(store.commit(writes)).rejects.toThrow(TypeError);
    expect(await store.count('history', {})).toBe(0);
    await store.close();
    await removeDir(dir);
  });
});
