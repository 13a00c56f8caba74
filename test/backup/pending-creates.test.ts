import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateJwkSet } from '../../src/crypto/key-ring.js';
import { runCli } from '../crypto/support.js';
import { openStore, runAndKill, withDatabase } from '../store/embedded-support.js';

/**
 * `npm run backup` / `npm run restore` of a store a crash left with deferred creates pending
 * (schema 6: their versions stored, their `current` rows written when the store next opens,
 * src/store/embedded/deferred-writes.ts). The counts both commands print are what the store
 * holds once opened.
 */

const SKIP = process.env.FHIRGATE_TEST_STORE === 'mongodb' || process.platform === 'win32';
const WRITER = 'test/store/fixtures/deferred-writer.ts';

/** A DATA_DIR holding only a key ring, as the README tells operators to prepare one for a restore. */
async function dataDir(parent: string, name: string, keys: string): Promise<string> {
  const dir = path.join(parent, name);
  await mkdir(path.join(dir, 'crypto'), { recursive: true });
  await writeFile(path.join(dir, 'crypto', 'keys.json'), keys, { mode: 0o600 });
  return dir;
}

describe.skipIf(SKIP)('npm run backup / restore with deferred creates pending', () => {
  it('count each pending create as a resource, as the restored store holds it once opened', { timeout: 120_000 }, async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-backup-pending-'));
    try {
      const keys = JSON.stringify(await generateJwkSet());
      const source = await dataDir(work, 'source', keys);
      // Killed (kill -9) while AuditEvents wait; most kills land so, and the writer runs again until one has.
      let pending = 0;
      for (let round = 0; pending === 0 && round < 8; round++) {
        await runAndKill(WRITER, source, 60 + round * 40);
        pending = withDatabase(source, (db) => db.prepare('SELECT count(*) FROM deferred').pluck().get() as number, { fileMustExist: true });
      }
      expect(pending).toBeGreaterThan(0);

      const file = path.join(work, 'pending.fgbak');
      const backup = await runCli('backup', ['--out', file], { DATA_DIR: source });
      expect(backup.code, backup.stderr).toBe(0);
      const target = await dataDir(work, 'target', keys);
      const restore = await runCli('restore', [file], { DATA_DIR: target });
      expect(restore.code, restore.stderr).toBe(0);

      // Opened, the restored store moves what waited (its `current` rows written) and holds what both commands said.
      const { store } = await openStore(target);
      const held = {
        resources: await store.count('current', {}),
        versions: await store.count('history', {}),
        auditEvents: await store.count('history', { resourceType: 'AuditEvent' }),
      };
      await store.close();
      const said = `Store: ${held.resources} resources, ${held.versions} versions, ${held.auditEvents} AuditEvents`;
      expect(`${backup.stdout}${backup.stderr}`).toContain(said);
      expect(`${restore.stdout}${restore.stderr}`).toContain(said);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
