import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRevisionCache } from '../../src/store/revision-cache.js';
import type { StorePort } from '../../src/store/port.js';
import { openStore, removeDir, tempDir } from './embedded-support.js';

// The cache of decoded Consents / PractitionerRoles (consent/directory.ts, consent/affiliations.ts),
// on a real embedded store: bounded, dropped by a write of its type, failures not kept.
let dir: string;
let store: StorePort;

beforeAll(async () => {
  dir = await tempDir();
  ({ store } = await openStore(dir));
});

afterAll(async () => {
  await store?.close();
  await removeDir(dir);
});

async function writeConsent(id: string, versionId: number): Promise<void> {
  const resource = { resourceType: 'Consent' as const, id, status: 'active' as const, scope: {}, category: [] };
  const record = { resourceType: 'Consent', id, versionId, lastUpdated: new Date().toISOString(), deleted: false, resource, index: {} };
  await store.commit([{ record, expectedVersion: versionId - 1 }]);
}

/** A loader that answers every key with a fresh object and counts what it was asked for. */
function countingLoader(): { asked: string[]; load: (keys: string[]) => Promise<Map<string, { key: string }>> } {
  const asked: string[] = [];
  return { asked, load: async (keys) => (asked.push(...keys), new Map(keys.map((k) => [k, { key: k }]))) };
}

describe('revision cache', () => {
  it('loads the missing keys in one call and keeps them at one revision', async () => {
    const cache = createRevisionCache<{ key: string }>(store, 'Consent', 10);
    const { asked, load } = countingLoader();
    const first = await (await cache.view()).getMany(['a', 'b'], load, { key: '-' });
    const again = await (await cache.view()).getMany(['a', 'b', 'c'], load, { key: '-' });
    expect(asked).toEqual(['a', 'b', 'c']);
    expect(again.get('a')).toBe(first.get('a'));
  });

  it('answers a key the loader did not find with the absent value', async () => {
    const cache = createRevisionCache<{ key: string }>(store, 'Consent', 10);
    const found = await (await cache.view()).getMany(['x', 'y'], async () => new Map([['x', { key: 'x' }]]), { key: 'none' });
    expect(found.get('y')).toEqual({ key: 'none' });
  });

  it('drops everything kept when a record of its type is written', async () => {
    const cache = createRevisionCache<{ key: string }>(store, 'Consent', 10);
    const { asked, load } = countingLoader();
    const before = await cache.view();
    await before.getMany(['a'], load, { key: '-' });
    await before.whole(async () => 'every consent');
    await writeConsent('rc-1', 1);
    const after = await cache.view();
    expect(after.revision).not.toBe(before.revision);
    expect(after.wholeIfKept()).toBeUndefined();
    await after.getMany(['a'], load, { key: '-' });
    expect(asked).toEqual(['a', 'a']);
  });

  it('keeps at most `max` keys, the least recently used going first', async () => {
    const cache = createRevisionCache<{ key: string }>(store, 'Consent', 3);
    const { asked, load } = countingLoader();
    const view = await cache.view();
    for (const key of ['a', 'b', 'c', 'd']) await view.getMany([key], load, { key: '-' });
    await view.getMany(['b', 'c', 'd'], load, { key: '-' });
    expect(asked).toEqual(['a', 'b', 'c', 'd']);
    await view.getMany(['a'], load, { key: '-' });
    expect(asked).toEqual(['a', 'b', 'c', 'd', 'a']);
  });

  it('answers every key even when one call asks for more than it keeps', async () => {
    const cache = createRevisionCache<{ key: string }>(store, 'Consent', 2);
    const { load } = countingLoader();
    const found = await (await cache.view()).getMany(['a', 'b', 'c', 'd'], load, { key: '-' });
    expect([...found.values()].map((v) => v.key)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('does not keep a failed load', async () => {
    const cache = createRevisionCache<{ key: string }>(store, 'Consent', 10);
    const view = await cache.view();
    await expect(view.getMany(['a', 'b'], () => Promise.reject(new Error('store down')), { key: '-' })).rejects.toThrow('store down');
    await expect(view.whole(() => Promise.reject(new Error('store down')))).rejects.toThrow('store down');
    const { asked, load } = countingLoader();
    await view.getMany(['a'], load, { key: '-' });
    expect(asked).toEqual(['a']);
    expect(await view.whole(async () => 'loaded')).toBe('loaded');
  });
});
