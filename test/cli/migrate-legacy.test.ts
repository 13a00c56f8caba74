import { execFile } from 'node:child_process';
import { appendFile, cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateLegacy } from '../../src/cli/migrate-legacy.js';
import { createEmbeddedStore } from '../../src/store/embedded/index.js';
import { findLegacyGeneration, listLegacyFiles } from '../../src/store/legacy/legacy-files.js';
import { encodeLine } from '../../src/store/legacy/line-codec.js';
import type { StorePort, StoredRecord } from '../../src/store/port.js';
import { journalCommits } from '../audit/support.js';
import { patient } from '../bundles/support.js';
import { dropDatabase, MONGODB_URI, openMongoStore, testDatabase } from '../support/mongo.js';
import { fhirClient } from '../support/fhir-client.js';
import { ROOT_DIR, startServer, type TestServer } from '../support/server.js';
import { nodeScript } from '../support/node-script.js';

/** Runs a CLI of src/cli (as `npm run ...` does) on a DATA_DIR, the embedded store, no server running. */
async function cli(script: string, dataDir: string, args: string[] = [], extraEnv: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', HL7_MLLP_PORT: '0', MONGODB_URI: '', ...extraEnv };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...nodeScript(`src/cli/${script}`), ...args], { cwd: ROOT_DIR, env });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

const migrate = (dataDir: string) => cli('migrate-store.ts', dataDir, ['--from', 'legacy', '--to', 'embedded']);
const file = (kind: 'snapshot' | 'journal', generation: number) => `${kind}-${String(generation).padStart(12, '0')}.jsonl`;

/**
 * Writes `commits` in the old engine's format (src/store/legacy): the first `inSnapshot` commits
 * as snapshot N (one line per resource with all its versions), the rest as journal N, with the
 * rewrite lines after the journal's first commit; plus a superseded generation N-1.
 */
async function writeOldFormat(dir: string, commits: StoredRecord[][], inSnapshot: number, rewrites: StoredRecord[]): Promise<void> {
  const generation = 3;
  const resources = new Map<string, StoredRecord[]>();
  for (const record of commits.slice(0, inSnapshot).flat()) {
    const key = `${record.resourceType}/${record.id}`;
    resources.set(key, [...(resources.get(key) ?? []), record]);
  }
  const snapshot = [
    encodeLine({ format: 'fhirgate-embedded-snapshot', version: 1, generation }),
    ...[...resources.values()].map((versions) => encodeLine({ versions })),
    encodeLine({ end: true, resources: resources.size }),
  ];
  await writeFile(path.join(dir, file('snapshot', generation)), Buffer.concat(snapshot));
  const journal = commits.slice(inSnapshot).map((records) => encodeLine({ records }));
  journal.splice(1, 0, encodeLine({ rewrites }));
  await writeFile(path.join(dir, file('journal', generation)), Buffer.concat(journal));
  // What the old engine left of the generation before: superseded by the snapshot, never replayed.
  await writeFile(path.join(dir, file('journal', generation - 1)), Buffer.concat(commits.slice(0, 2).map((records) => encodeLine({ records }))));
}

/** A copy of a server's DATA_DIR without its SQLite store: the key ring, auth keys and the rest stay. */
async function copyWithoutStore(from: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-legacy-'));
  await cp(from, dir, { recursive: true, filter: (source) => !/(fhirgate\.db(-wal|-shm)?|LOCK)$/.test(path.basename(source)) });
  return dir;
}

async function withStore<T>(dir: string, use: (store: StorePort) => Promise<T>, allowLegacyFiles = false): Promise<T> {
  const store = createEmbeddedStore({ dir, allowLegacyFiles });
  await store.open();
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

const everything = (store: StorePort) => store.find('history', {}, { sort: { resourceType: 1, id: 1, versionId: 1 } });

// The old format only ever existed for the embedded store.
describe.skipIf(process.env.FHIRGATE_TEST_STORE === 'mongodb')('npm run migrate -- --from legacy --to embedded', () => {
  let source: TestServer;
  let commits: StoredRecord[][];
  let rewritten: StoredRecord;
  let original: StoredRecord[];
  let oldDir: string;
  const ids: Record<string, string> = {};
  const cleanup: string[] = [];

  beforeAll(async () => {
    // Real records: written by a real server over HTTP (encrypted elements, search values, AuditEvents).
    source = await startServer();
    const fhir = fhirClient(source.fhirUrl);
    // Telecom and address are encrypted at rest by default: the old files hold JWEs.
    const kept = await fhir.create({ ...(patient('urn:legacy', '1', 'Oldfile') as Patient), telecom: [{ system: 'phone', value: '+41 79 555 01 01' }], address: [{ city: 'Bern' }] });
    const gone = await fhir.create(patient('urn:legacy', '2', 'Gone') as Patient);
    await fhir.create(patient('urn:legacy', '3', 'Third') as Patient);
    for (const family of ['Oldfile-Two', 'Oldfile-Three']) expect((await fhir.put(`Patient/${kept.id}`, { ...kept, name: [{ family }] })).status).toBe(200);
    expect((await fhir.delete(`Patient/${gone.id}`)).status).toBeLessThan(300);
    expect((await fhir.get(`Patient/${kept.id}`)).status).toBe(200);
    ids.kept = kept.id!;
    ids.gone = gone.id!;
    // A key rotation in the old engine wrote the re-encrypted version in place: a `rewrites` line.
    const [first] = await source.app.store.find('history', { resourceType: 'Patient', id: kept.id, versionId: 1 });
    const codec = source.app.crypto.codec;
    rewritten = { ...first, resource: await codec.encode(await codec.decode(first.resource!)) };
    expect(rewritten.resource).not.toEqual(first.resource);
    original = await everything(source.app.store);
    await source.stop();
    commits = await journalCommits(source.dataDir);
    oldDir = await copyWithoutStore(source.dataDir);
    cleanup.push(oldDir);
    await writeOldFormat(oldDir, commits, 3, [rewritten]);
  }, 120_000);
  afterAll(async () => {
    await source?.destroy();
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  it('the server refuses a directory still in the old format and names the command', { timeout: 120_000 }, async () => {
    // `npm start` as its own process: it must stop at once with the message, not serve.
    const env = { ...process.env, DATA_DIR: oldDir, PORT: '0', HL7_MLLP_PORT: '0', LOG_LEVEL: 'warn', MONGODB_URI: '' };
    const started = await promisify(execFile)(process.execPath, nodeScript('src/main.ts'), { cwd: ROOT_DIR, env, timeout: 100_000 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect('code' in started && started.code).not.toBe(0);
    expect(`${started.stdout}${started.stderr}`).toMatch(/old journal format; convert it once with `npm run migrate -- --from legacy --to embedded`/);
    expect(await listLegacyFiles(oldDir)).toHaveLength(3); // untouched
  });

  it('an interrupted conversion is finished by the next run, without duplicates; the old files then move to pre-sqlite/', { timeout: 180_000 }, async () => {
    // The first run stops after a few groups (a crash between two commits).
    let lines = 0;
    const interrupted = withStore(
      oldDir,
      async (store) => migrateLegacy((await findLegacyGeneration(oldDir))!, store, { groupVersions: 3, onProgress: () => void (++lines === 4 && thrower()) }),
      true,
    );
    await expect(interrupted).rejects.toThrow('interrupted');
    const partial = await withStore(oldDir, (store) => store.count('history', {}), true);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(original.length);

    const { code, output } = await migrate(oldDir);
    expect(output).toMatch(/bytes \[#+\] 100%/);
    expect(output).toMatch(new RegExp(`Copied ${original.length - partial} versions \\(${partial} already copied by an earlier run\\), replayed 1 in-place rewrites`));
    const resources = new Set(original.map((r) => `${r.resourceType}/${r.id}`)).size;
    expect(output).toContain(`Count check: old files ${resources} resources / ${original.length} versions, target ${resources} / ${original.length}: match.`);
    expect(output).toContain(`The old files were moved to ${path.join(oldDir, 'pre-sqlite')}`);
    expect(code).toBe(0);
    expect(await listLegacyFiles(oldDir)).toEqual([]);
    expect(await listLegacyFiles(path.join(oldDir, 'pre-sqlite'))).toEqual([file('journal', 2), file('journal', 3), file('snapshot', 3)]);

    // Byte for byte what the old engine held: every version, with the rewrite applied in place.
    const migrated = await withStore(oldDir, everything);
    const key = (r: StoredRecord) => `${r.resourceType}/${r.id}/${r.versionId}`;
    expect(migrated).toEqual(original.map((r) => (key(r) === key(rewritten) ? rewritten : r)));

    const again = await migrate(oldDir);
    expect([again.code, again.output]).toEqual([0, `Nothing to convert: ${oldDir} was converted already; its old files are in ${path.join(oldDir, 'pre-sqlite')}.\n`]);
  });

  it('the converted directory serves reads, history, search and an intact audit trail', { timeout: 180_000 }, async () => {
    const server = await startServer({}, oldDir);
    try {
      const fhir = fhirClient(server.fhirUrl);
      const read = await fhir.get<Patient>(`Patient/${ids.kept}`);
      expect([read.status, read.body.name?.[0].family, read.body.meta?.versionId, read.body.telecom?.[0].value]).toEqual([200, 'Oldfile-Three', '3', '+41 79 555 01 01']);
      const first = await fhir.get<Patient>(`Patient/${ids.kept}/_history/1`);
      expect(first.body.address).toEqual([{ city: 'Bern' }]); // the version the rewrite re-encrypted
      const history = await fhir.get<Bundle>(`Patient/${ids.kept}/_history`);
      expect(history.body.entry?.map((e) => (e.resource as Patient | undefined)?.name?.[0].family)).toEqual(['Oldfile-Three', 'Oldfile-Two', 'Oldfile']);
      expect((await fhir.get(`Patient/${ids.gone}`)).status).toBe(410);
      const search = await fhir.get<Bundle>('Patient?identifier=urn:legacy|3');
      expect(search.body.entry?.map((e) => (e.resource as Patient).name?.[0].family)).toEqual(['Third']);
      const audit = await fhir.get<Bundle>(`AuditEvent?entity=Patient/${ids.kept}&_count=50`);
      expect(audit.status).toBe(200);
      expect(audit.body.entry!.length).toBeGreaterThanOrEqual(4); // create, two updates, a read (and now these reads)
      // New writes continue the chain after the migrated events.
      expect((await fhir.put(`Patient/${ids.kept}`, { ...read.body, name: [{ family: 'Converted' }] })).status).toBe(200);
    } finally {
      await server.stop();
    }
    const verified = await cli('audit-verify.ts', oldDir);
    expect(verified.output).toMatch(/Audit chain intact: \d+ AuditEvents verified/);
    expect(verified.code).toBe(0);
  });

  it.skipIf(!MONGODB_URI)('--to mongo copies the same old files into MongoDB', { timeout: 120_000 }, async () => {
    const dir = await copyWithoutStore(source.dataDir);
    cleanup.push(dir);
    await writeOldFormat(dir, commits, 3, [rewritten]);
    const db = testDatabase('legacy');
    try {
      const { code, output } = await cli('migrate-store.ts', dir, ['--from', 'legacy', '--to', 'mongo'], { MONGODB_URI: MONGODB_URI!, MONGODB_DB: db });
      expect(output).toContain(`/ ${original.length}: match.`);
      expect(code).toBe(0);
      const mongo = await openMongoStore(db);
      try {
        const key = (r: StoredRecord) => `${r.resourceType}/${r.id}/${r.versionId}`;
        expect(await everything(mongo)).toEqual(original.map((r) => (key(r) === key(rewritten) ? rewritten : r)));
      } finally {
        await mongo.close();
      }
    } finally {
      await dropDatabase(db);
    }
  });

  it('a torn last journal line (a commit never acknowledged) is left out', { timeout: 120_000 }, async () => {
    const dir = await copyWithoutStore(source.dataDir);
    cleanup.push(dir);
    await writeOldFormat(dir, commits, 3, [rewritten]);
    const torn = { ...commits[0][0], id: 'torn-commit' };
    const line = encodeLine({ records: [torn] });
    await appendFile(path.join(dir, file('journal', 3)), line.subarray(0, line.length - 20));
    const { code, output } = await migrate(dir);
    expect(output).toContain(`/ ${original.length}: match.`);
    expect(code).toBe(0);
    expect(await readdir(path.join(dir, 'pre-sqlite'))).toHaveLength(3);
    await withStore(dir, async (store) => {
      expect(await store.find('history', { id: 'torn-commit' })).toEqual([]);
      expect(await store.count('history', {})).toBe(original.length);
    });
  });
});

function thrower(): never {
  throw new Error('interrupted');
}
