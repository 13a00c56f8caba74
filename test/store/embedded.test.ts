import { describe, expect, it } from 'vitest';
import { createEmbeddedStore } from '../../src/store/embedded/index.js';
import type { StorePort } from '../../src/store/port.js';
import { describeStoreContract } from './contract.js';
import { record, writeOf } from './contract-support.js';
import { openStore, removeDir, tempDir } from './embedded-support.js';

describeStoreContract('embedded', async () => {
  const dir = await tempDir();
  const opened: StorePort[] = [];
  const open = async (): Promise<StorePort> => {
    const store = createEmbeddedStore({ dir });
    await store.open();
    opened.push(store);
    return store;
  };
  const store = await open();
  return {
    store,
    reopen: open,
    cleanup: async () => {
      for (const s of opened) await s.close();
      await removeDir(dir);
    },
  };
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
