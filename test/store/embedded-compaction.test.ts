import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/store/port.js';
import { record, writeOf } from './contract-support.js';
import { generationFiles, openStore, removeDir, tempDir } from './embedded-support.js';

const lines = async (path: string): Promise<number> => (await readFile(path, 'utf8')).split('\n').length - 1;

describe('embedded store: snapshots and compaction', () => {
  it('creates its directory and starts at generation 0 with a journal only', async () => {
    const parent = await tempDir();
    const dir = join(parent, 'nested', 'store');
    const { store } = await openStore(dir);
    expect(await generationFiles(dir)).toEqual(['journal-000000000000.jsonl']);
    await store.close();
    await removeDir(parent);
  });

  it('snapshots the replayed journal on open and recovers snapshot + journal', async () => {
    const dir = await tempDir();
    const first = await openStore(dir);
    await first.store.commit([writeOf(record('Patient', 'a'))]);
    await first.store.close();

    const second = await openStore(dir); // replays one commit, so compacts into generation 1
    expect(await generationFiles(dir)).toEqual(['journal-000000000001.jsonl', 'snapshot-000000000001.jsonl']);
    await second.store.commit([writeOf(record('Patient', 'a', { versionId: 2 })), writeOf(record('Patient', 'b'))]);
    await second.store.close();
    expect(await lines(join(dir, 'journal-000000000001.jsonl'))).toBe(1);

    const third = await openStore(dir);
    expect(await third.store.find('history', { resourceType: 'Patient', id: 'a' }, { sort: { versionId: 1 } })).toEqual([
      record('Patient', 'a'),
      record('Patient', 'a', { versionId: 2 }),
    ]);
    expect(await third.store.count('current', {})).toBe(2);
    await third.store.close();
    await removeDir(dir);
  });

  it('compacts while running once the journal passes the threshold, without losing concurrent commits', async () => {
    const dir = await tempDir();
    const { store, logs } = await openStore(dir, { compactThresholdBytes: 4096 });
    const padding = 'x'.repeat(200);
    for (let round = 1; round <= 10; round++) {
      const writes = Array.from({ length: 8 }, (_, w) =>
        store.commit([{ record: record('Basic', `w${w}`, { versionId: round, resource: { padding } }), expectedVersion: round - 1 }]),
      );
      await Promise.all(writes);
    }
    expect(logs.messages('info').filter((m) => /compacted/.test(m)).length).toBeGreaterThan(1);
    const files = await generationFiles(dir);
    expect(files).toHaveLength(2); // old generations are deleted
    await store.close();

    const reopened = await openStore(dir);
    expect(await reopened.store.count('history', { resourceType: 'Basic' })).toBe(80);
    const current = await reopened.store.find('current', { resourceType: 'Basic' });
    expect(current.map((r) => r.versionId)).toEqual(Array(8).fill(10));
    await reopened.store.close();
    await removeDir(dir);
  });

  it('recovers from every point a compaction can be interrupted at', async () => {
    const dir = await tempDir();
    const backup = join(dir, 'backup');
    const first = await openStore(dir);
    await first.store.commit([writeOf(record('Patient', 'a'))]);
    await first.store.close();
    const second = await openStore(dir); // generation 1: snapshot has a, journal gets b
    await second.store.commit([writeOf(record('Patient', 'b'))]);
    await second.store.close();
    await mkdir(backup);
    for (const name of await generationFiles(dir)) await copyFile(join(dir, name), join(backup, name));

    // Crash after the rename but before the old generation was deleted: both generations on disk.
    const third = await openStore(dir); // compacts into generation 2
    await third.store.close();
    for (const name of await readdir(backup)) await copyFile(join(backup, name), join(dir, name));
    // Crash while writing the next snapshot, and after creating the next journal but before the rename.
    await writeFile(join(dir, 'snapshot-000000000003.jsonl.tmp'), 'partial');
    await writeFile(join(dir, 'journal-000000000003.jsonl'), '');

    const fourth = await openStore(dir);
    expect((await fourth.store.find('current', {}, { sort: { id: 1 } })).map((r) => r.id)).toEqual(['a', 'b']);
    expect(await generationFiles(dir)).toEqual(['journal-000000000002.jsonl', 'snapshot-000000000002.jsonl']);
    expect((await readdir(dir)).some((name) => name.endsWith('.tmp'))).toBe(false);
    await fourth.store.close();
    await removeDir(dir);
  });

  it('refuses to open when a journal has commits but no snapshot', async () => {
    const dir = await tempDir();
    const first = await openStore(dir);
    await first.store.commit([writeOf(record('Patient', 'a'))]);
    await first.store.close();
    await copyFile(join(dir, 'journal-000000000000.jsonl'), join(dir, 'journal-000000000005.jsonl'));
    await expect(openStore(dir)).rejects.toThrow(StoreUnavailableError);
    await expect(openStore(dir)).rejects.toThrow(/has no snapshot/);
    await removeDir(dir);
  });
});
