import { describe, expect, it } from 'vitest';
import type { StorePort } from '../../src/store/port.js';
import { openStore, removeDir, runAndKill, tempDir } from './embedded-support.js';

const WRITER = 'test/store/fixtures/crash-writer.ts';
const WORKERS = 4;

/** Asserts every acknowledged commit is complete and no commit is partial. */
async function verify(store: StorePort, acked: Iterable<string>): Promise<number> {
  const commits = new Map<string, number>();
  for (const r of await store.find('history', { 'index.commit': { $exists: true } })) {
    const id = (r.index as { commit: string }).commit;
    commits.set(id, (commits.get(id) ?? 0) + 1);
  }
  for (const [id, records] of commits) expect(records, `commit ${id}`).toBe(3);
  for (const id of acked) expect(commits.has(id), `acknowledged commit ${id}`).toBe(true);
  for (let w = 0; w < WORKERS; w++) {
    const [current] = await store.find('current', { resourceType: 'Basic', id: `w${w}` });
    const versions = [...commits.keys()].filter((id) => id.startsWith(`w${w}-`)).length;
    expect(current?.versionId ?? 0).toBe(versions); // versions 1..n, none missing
  }
  return commits.size;
}

describe('embedded store: kill -9', () => {
  it.skipIf(process.platform === 'win32')('keeps every acknowledged commit whole and no partial one, across repeated crashes', { timeout: 30_000 }, async () => {
    const dir = await tempDir();
    const acked = new Set<string>();
    let previous = 0;
    for (let round = 0; round < 4; round++) {
      for (const id of await runAndKill(WRITER, dir, 40 + Math.floor(Math.random() * 160), WORKERS)) acked.add(id);
      const { store } = await openStore(dir); // also takes over the dead writer's lock
      const total = await verify(store, acked);
      expect(total).toBeGreaterThan(previous);
      previous = total;
      await store.close();
    }
    await removeDir(dir);
  });
});
