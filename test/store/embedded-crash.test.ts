import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { StorePort } from '../../src/store/port.js';
import { nodeScript } from '../support/node-script.js';
import { openStore, removeDir, tempDir } from './embedded-support.js';

const WRITER = 'test/store/fixtures/crash-writer.ts';
const WORKERS = 4;

/**
 * Runs the writer until it has acknowledged `acks` commits, then SIGKILLs it.
 * Returns every commit id it acknowledged (lines already in the pipe included).
 */
async function runAndKill(dir: string, acks: number): Promise<string[]> {
  const child = spawn(process.execPath, [...nodeScript(WRITER), dir, String(WORKERS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: string[] = [];
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
    if (acked.length >= acks) child.kill('SIGKILL');
  });
  const [, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('close', (code, sig) => resolve([code, sig])));
  expect(signal).toBe('SIGKILL');
  return acked;
}

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
      for (const id of await runAndKill(dir, 40 + Math.floor(Math.random() * 160))) acked.add(id);
      const { store } = await openStore(dir); // also takes over the dead writer's lock
      const total = await verify(store, acked);
      expect(total).toBeGreaterThan(previous);
      previous = total;
      await store.close();
    }
    await removeDir(dir);
  });
});
