import { appendFile, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createEmbeddedStore } from '../../src/store/embedded/index.js';
import type { StorePort } from '../../src/store/port.js';
import { describeStoreContract } from './contract.js';
import { record, writeOf } from './contract-support.js';
import { journalOf, openStore, removeDir, tempDir } from './embedded-support.js';

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

/** Commits three creates (p1, p2, p3), each its own journal line, and closes. */
async function threeCommits(dir: string): Promise<void> {
  const { store } = await openStore(dir);
  for (const id of ['p1', 'p2', 'p3']) await store.commit([writeOf(record('Patient', id))]);
  await store.close();
}

async function ids(store: StorePort): Promise<string[]> {
  return (await store.find('current', {}, { sort: { id: 1 } })).map((r) => r.id);
}

describe('embedded store: journal recovery', () => {
  it('discards a torn last line and keeps appending cleanly after it', async () => {
    const dir = await tempDir();
    await threeCommits(dir);
    const journal = await journalOf(dir);
    const { size } = await stat(journal);
    await truncate(journal, size - 7);
    const { store, logs } = await openStore(dir);
    expect(await ids(store)).toEqual(['p1', 'p2']);
    expect(logs.messages('warn').join()).toMatch(/torn or corrupt/);
    await store.commit([writeOf(record('Patient', 'p4'))]);
    await store.close();
    const { store: again } = await openStore(dir);
    expect(await ids(again)).toEqual(['p1', 'p2', 'p4']);
    await again.close();
    await removeDir(dir);
  });

  it('discards a last line whose checksum does not match', async () => {
    const dir = await tempDir();
    await threeCommits(dir);
    const journal = await journalOf(dir);
    const text = await readFile(journal, 'utf8');
    await writeFile(journal, text.replace(/"id":"p3"/, '"id":"p9"'));
    const { store, logs } = await openStore(dir);
    expect(await ids(store)).toEqual(['p1', 'p2']);
    expect(logs.messages('warn')).toHaveLength(1);
    await store.close();
    await removeDir(dir);
  });

  it('discards a zero-filled tail, as a file system may leave after power loss', async () => {
    const dir = await tempDir();
    await threeCommits(dir);
    await appendFile(await journalOf(dir), Buffer.alloc(4096));
    const { store, logs } = await openStore(dir);
    expect(await ids(store)).toEqual(['p1', 'p2', 'p3']);
    expect(logs.messages('warn')).toHaveLength(1);
    await store.close();
    await removeDir(dir);
  });

  it('stops at the first bad line and reports intact lines after it as an error', async () => {
    const dir = await tempDir();
    await threeCommits(dir);
    const journal = await journalOf(dir);
    const text = await readFile(journal, 'utf8');
    await writeFile(journal, text.replace(/"id":"p2"/, '"id":"p8"'));
    const { store, logs } = await openStore(dir);
    expect(await ids(store)).toEqual(['p1']);
    expect(logs.lines.find((l) => l.level === 50)).toMatchObject({ intactLinesDiscarded: 1 });
    await store.close();
    await removeDir(dir);
  });
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
