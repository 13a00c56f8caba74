import { spawn } from 'node:child_process';
import { access, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/store/port.js';
import { record, writeOf } from './contract-support.js';
import { deadPid, openStore, removeDir, tempDir } from './embedded-support.js';

const writeLock = (dir: string, pid: number, host = hostname()): Promise<void> =>
  writeFile(join(dir, 'LOCK'), JSON.stringify({ pid, hostname: host, since: new Date().toISOString() }));

describe('embedded store: single writer lock', () => {
  it('refuses a directory locked by a live process', async () => {
    const dir = await tempDir();
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      await writeLock(dir, holder.pid!);
      await expect(openStore(dir)).rejects.toThrow(StoreUnavailableError);
      await expect(openStore(dir)).rejects.toThrow(new RegExp(`locked .*running process ${holder.pid}`));
    } finally {
      holder.kill('SIGKILL');
      await removeDir(dir);
    }
  });

  it('refuses a second store on the same directory in this process until the first closes', async () => {
    const dir = await tempDir();
    const first = await openStore(dir);
    await expect(openStore(dir)).rejects.toThrow(/this process/);
    await first.store.close();
    const second = await openStore(dir);
    expect(await second.store.ping()).toBe(true);
    await second.store.close();
    await removeDir(dir);
  });

  it('refuses a lock from another host, whose liveness it cannot check', async () => {
    const dir = await tempDir();
    await writeLock(dir, 1, 'some-other-host');
    await expect(openStore(dir)).rejects.toThrow(/some-other-host/);
    await removeDir(dir);
  });

  it('takes over the stale lock of a process that is gone', async () => {
    const dir = await tempDir();
    await writeLock(dir, await deadPid());
    const { store, logs } = await openStore(dir);
    expect(logs.messages('warn')).toContain('embedded store: taking over a stale lock');
    await store.commit([writeOf(record('Patient', 'a'))]);
    await store.close();
    await expect(access(join(dir, 'LOCK'))).rejects.toThrow(); // released on close
    await removeDir(dir);
  });

  it('takes over an old, unreadable lock (owner crashed while writing it)', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'LOCK'), '');
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'LOCK'), old, old);
    const { store } = await openStore(dir);
    expect(await store.ping()).toBe(true);
    await store.close();
    await removeDir(dir);
  });
});
