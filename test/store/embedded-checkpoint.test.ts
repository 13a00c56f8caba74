import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Checkpointer } from '../../src/store/embedded/checkpointer.js';
import { databasePath } from '../../src/store/embedded/files.js';
import { record, writeOf } from './contract-support.js';
import { openStore, removeDir, tempDir, withDatabase } from './embedded-support.js';

async function sizeOf(file: string): Promise<number> {
  return (await stat(file)).size;
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe('embedded store: background checkpoints', () => {
  it('commits are copied from the WAL into the database beside the event loop, and the store closes and reopens with everything', async () => {
    const dir = await tempDir();
    const { store, logs } = await openStore(dir);
    const db = databasePath(dir);
    const before = await sizeOf(db);
    const text = 'x'.repeat(2000);
    for (let i = 0; i < 300; i++) {
      await store.commit([writeOf(record('Patient', `p${i}`, { resource: { resourceType: 'Patient', id: `p${i}`, text: { status: 'generated', div: text } } }))]);
    }
    // ~300 commits of ~2 KB: far below the WAL size at which SQLite would checkpoint inside a commit (50,000 pages), so a larger database file is the worker's doing.
    expect(await until(async () => (await sizeOf(db)) > before + 300 * 2000, 5000)).toBe(true);
    // Still writable and readable while the worker's connection is open.
    await store.commit([writeOf(record('Patient', 'last'))]);
    expect(await store.count('current', { resourceType: 'Patient' })).toBe(301);
    await store.close();
    expect(logs.messages('warn')).toEqual([]);
    // Closed: the last connection checkpointed everything and removed the WAL.
    await expect(stat(`${db}-wal`)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(withDatabase(dir, (d) => d.prepare('SELECT count(*) FROM current').pluck().get(), { readonly: true })).toBe(301);
    await removeDir(dir);
  });

  it('compact empties the WAL even while the worker is checkpointing (a truncating checkpoint fails at once beside another)', async () => {
    const dir = await tempDir();
    // Background checkpoints as often as commits come, so compacts keep meeting one in flight.
    const { store, logs } = await openStore(dir, { checkpointIntervalMs: 1 });
    const wal = `${databasePath(dir)}-wal`;
    const text = 'x'.repeat(4000);
    const leftInWal: number[] = [];
    for (let round = 0; round < 40; round++) {
      const writes = Array.from({ length: 60 }, (_, i) => store.commit([writeOf(record('Patient', `p${round}-${i}`, { resource: { resourceType: 'Patient', id: `p${round}-${i}`, text: { status: 'generated', div: text } } }))]));
      await Promise.all(writes);
      await new Promise((resolve) => setTimeout(resolve, round % 5));
      await store.compact!();
      leftInWal.push(await sizeOf(wal));
    }
    // What a key rotation or an audit archive compacts for: no frame of what came before stays in the WAL.
    expect(leftInWal.filter((bytes) => bytes > 0)).toEqual([]);
    expect(await store.count('current', { resourceType: 'Patient' })).toBe(2400);
    await store.close();
    expect(logs.messages('warn')).toEqual([]);
    await removeDir(dir);
  }, 60_000);

  it('a worker that cannot checkpoint hands checkpoints back to SQLite, once, with a warning', async () => {
    const dir = await tempDir();
    const lines: { msg: string }[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
    let fallbacks = 0;
    const checkpointer = new Checkpointer({ path: join(dir, 'missing.db'), logger, intervalMs: 10 }, () => fallbacks++);
    checkpointer.written();
    expect(await until(async () => fallbacks > 0, 5000)).toBe(true);
    checkpointer.written();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fallbacks).toBe(1);
    expect(lines.map((l) => l.msg)).toEqual(['embedded store: background checkpoints stopped; SQLite checkpoints inside commits again']);
    await checkpointer.close();
    await removeDir(dir);
  });
});
