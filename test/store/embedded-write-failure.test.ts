import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nodeScript } from '../support/node-script.js';
import { record, writeOf } from './contract-support.js';
import { openStore, removeDir, tempDir } from './embedded-support.js';

const WRITER = 'test/store/fixtures/write-failure.ts';

describe('embedded store: write failure', () => {
  it.skipIf(process.platform === 'win32')('keeps a failed commit invisible, stops accepting commits, and recovers on restart', { timeout: 20_000 }, async () => {
    const dir = await tempDir();
    // A real EFBIG from the kernel: no file may grow past 2048 blocks (1 MiB).
    const { stdout } = await promisify(execFile)('/bin/sh', ['-c', 'ulimit -f 2048 && exec "$0" "$@"', process.execPath, ...nodeScript(WRITER), dir]);
    const report = JSON.parse(stdout);
    expect(report.failed).toEqual({ id: `p${report.acked.length}`, error: 'StoreUnavailableError' });
    expect(report.acked.length).toBeGreaterThan(5);
    expect(report).toMatchObject({ failedVisible: false, visibleCount: report.acked.length, ping: false, nextCommit: 'StoreUnavailableError', close: 'ok' });

    const { store } = await openStore(dir);
    const ids = (await store.find('current', { resourceType: 'Patient' })).map((r) => r.id);
    expect(ids.sort()).toEqual([...report.acked].sort()); // the failed commit was rolled back
    await store.commit([writeOf(record('Patient', report.failed.id))]);
    await store.close();
    await removeDir(dir);
  });
});
