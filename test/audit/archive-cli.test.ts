import { execFile } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AuditEvent, Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { archiveAuditEvents } from '../../src/audit/archive.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { StorePort } from '../../src/store/port.js';
import { patient } from '../bundles/support.js';
import { fhirClient } from '../support/fhir-client.js';
import { ROOT_DIR, startServer, type TestServer } from '../support/server.js';
import { eventsOf } from './support.js';
import { nodeScript } from '../support/node-script.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Runs `npm run audit:<script>` (tsx src/cli/audit-<script>.ts) on the server's data folder. */
async function cli(dataDir: string, script: 'archive' | 'verify', args: string[] = []): Promise<{ code: number; output: string }> {
  const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', HL7_MLLP_PORT: '0', MONGODB_URI: '' };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...nodeScript(`src/cli/audit-${script}.ts`), ...args], { cwd: ROOT_DIR, env });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

const archiveDir = (server: TestServer) => path.join(server.dataDir, 'audit-archive');

async function archiveFiles(server: TestServer): Promise<string[]> {
  return (await readdir(archiveDir(server))).sort();
}

/** Rewrites one archive file's lines, then puts the original back. */
async function tampered<T>(file: string, edit: (lines: string[]) => string[], use: () => Promise<T>): Promise<T> {
  const original = await readFile(file, 'utf8');
  await writeFile(file, `${edit(original.trimEnd().split('\n')).join('\n')}\n`);
  try {
    return await use();
  } finally {
    await writeFile(file, original);
  }
}

// The archive commands open the embedded store's directory; with FHIRGATE_TEST_STORE=mongodb the data is elsewhere.
describe.skipIf(process.env.FHIRGATE_TEST_STORE === 'mongodb')('npm run audit:archive and audit:verify across the archive', () => {
  let server: TestServer;
  let patientId: string;
  let offsetMs = 40 * DAY_MS; // the server's clock: 40 days ago, then now
  let oldEvents: number;

  beforeAll(async () => {
    server = await startServer({}, undefined, { clock: () => new Date(Date.now() - offsetMs) });
    const fhir = fhirClient(server.fhirUrl);
    const created = await fhir.create({ ...(patient('urn:archive', '1', 'Archived') as Patient), telecom: [{ system: 'phone', value: '+41 79 555 77 77' }] });
    patientId = created.id!;
    for (let i = 0; i < 4; i++) expect((await fhir.get(`Patient/${patientId}`)).status).toBe(200);
    offsetMs = 0;
    const recorded = eventsOf((await fhir.get<Bundle>('AuditEvent?_count=100')).body).map((e) => Date.parse(e.recorded!));
    oldEvents = recorded.filter((t) => t < Date.now() - DAY_MS).length;
    expect(oldEvents).toBeGreaterThanOrEqual(5); // the create and four reads
    for (let i = 0; i < 3; i++) expect((await fhir.get(`Patient/${patientId}`)).status).toBe(200);
  }, 120_000);
  afterAll(() => server?.destroy());

  it('refuses to run while the server holds the directory', { timeout: 120_000 }, async () => {
    const { code, output } = await cli(server.dataDir, 'archive', ['--older-than', '30']);
    expect(output).toMatch(/audit:archive: .*(lock|LOCK)/);
    expect(code).toBe(1);
  });

  it('moves the events older than N days into an encrypted archive; verify checks archive and store as one chain', { timeout: 240_000 }, async () => {
    await server.stop();
    const before = await cli(server.dataDir, 'verify');
    const total = Number(/intact: (\d+) AuditEvents/.exec(before.output)?.[1]);
    expect(total).toBeGreaterThan(oldEvents);

    const { code, output } = await cli(server.dataDir, 'archive', ['--older-than', '30']);
    expect(output).toContain(`Archived ${oldEvents} AuditEvents to audit-000000000001-${String(oldEvents).padStart(12, '0')}.ndjson and removed them from the store.`);
    expect(output).toContain(`The store's trail now starts at event ${oldEvents + 1}.`);
    expect(code).toBe(0);

    // Never in clear on disk: each line is one compact JWE.
    const [file] = await archiveFiles(server);
    const text = await readFile(path.join(archiveDir(server), file), 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(oldEvents);
    for (const line of lines) expect(line).toMatch(/^[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/);
    for (const clear of ['AuditEvent', patientId, 'Archived', '555 77 77']) expect(text).not.toContain(clear);

    const after = await cli(server.dataDir, 'verify');
    expect(after.output).toContain(`Audit chain intact: ${total} AuditEvents verified (${oldEvents} archived in ${archiveDir(server)}, ${total - oldEvents} in the store).`);
    expect(after.code).toBe(0);

    const again = await cli(server.dataDir, 'archive', ['--older-than', '30']);
    expect(again.output).toContain('No AuditEvent to archive.');
    expect(again.code).toBe(0);
  });

  it('the server goes on after the archive: old events are gone from search, new ones continue the chain', { timeout: 180_000 }, async () => {
    server = await server.restart();
    const fhir = fhirClient(server.fhirUrl);
    const stored = eventsOf((await fhir.get<Bundle>('AuditEvent?_count=100')).body);
    expect(stored.every((e: AuditEvent) => Date.parse(e.recorded!) > Date.now() - DAY_MS)).toBe(true);
    expect(stored.some((e) => e.id === 'audit-1')).toBe(false);
    expect((await fhir.get('AuditEvent/audit-1')).status).toBe(404);
    expect((await fhir.get(`Patient/${patientId}`)).status).toBe(200);
    await server.stop();

    // Everything but the chain's last event, which stays so that the numbering continues after it.
    const { code, output } = await cli(server.dataDir, 'archive', ['--older-than', '0']);
    expect(code).toBe(0);
    expect(output).toMatch(/Archived \d+ AuditEvents to audit-\d{12}-\d{12}\.ndjson/);
    expect(await archiveFiles(server)).toHaveLength(2);
    const verified = await cli(server.dataDir, 'verify');
    expect(verified.output).toMatch(/Audit chain intact: (\d+) AuditEvents verified \(\d+ archived in .*, 1 in the store\)/);
    expect(verified.code).toBe(0);
  });

  it('reports an archived line that was altered, removed or moved as a break at its event (exit 1)', { timeout: 240_000 }, async () => {
    const file = path.join(archiveDir(server), (await archiveFiles(server))[0]);
    const flip = (line: string) => {
      const at = Math.floor(line.length * 0.75); // inside the ciphertext
      return `${line.slice(0, at)}${line[at] === 'A' ? 'B' : 'A'}${line.slice(at + 1)}`;
    };
    const altered = await tampered(file, (lines) => lines.map((l, i) => (i === 2 ? flip(l) : l)), () => cli(server.dataDir, 'verify'));
    expect(altered.output).toMatch(/Audit chain BROKEN at event 3: archived event 3 in .* does not open \(altered, moved, or its key is no longer in the ring\)/);
    expect(altered.code).toBe(1);

    const swapped = await tampered(file, (lines) => [lines[0], lines[2], lines[1], ...lines.slice(3)], () => cli(server.dataDir, 'verify'));
    expect(swapped.output).toMatch(/Audit chain BROKEN at event 2: archived event 2 .* does not open/);
    expect(swapped.code).toBe(1);

    const removed = await tampered(file, (lines) => lines.slice(0, -1), () => cli(server.dataDir, 'verify'));
    expect(removed.output).toMatch(new RegExp(`Audit chain BROKEN at event ${oldEvents}: event ${oldEvents} is missing \\(.* ends early\\)`));
    expect(removed.code).toBe(1);

    const intact = await cli(server.dataDir, 'verify');
    expect(intact.code).toBe(0);
  });

  it('refuses bad arguments with the usage (exit 2)', { timeout: 120_000 }, async () => {
    for (const args of [['--older-than', '-1'], ['--days', '3']]) {
      const { code, output } = await cli(server.dataDir, 'archive', args);
      expect(output).toContain('Usage: npm run audit:archive -- --older-than <days>');
      expect(code).toBe(2);
    }
  });
});

describe.skipIf(process.env.FHIRGATE_TEST_STORE === 'mongodb')('npm run audit:archive after an interrupted run', () => {
  let server: TestServer;
  let offsetMs = 40 * DAY_MS;
  afterAll(() => server?.destroy());

  it('a run cut off after writing its file, before purging the store, is finished by the next run', { timeout: 240_000 }, async () => {
    server = await startServer({}, undefined, { clock: () => new Date(Date.now() - offsetMs) });
    const fhir = fhirClient(server.fhirUrl);
    const created = await fhir.create(patient('urn:archive', '2') as Patient);
    for (let i = 0; i < 3; i++) await fhir.get(`Patient/${created.id}`);
    offsetMs = 0;
    await fhir.get(`Patient/${created.id}`);
    await server.stop();

    // The same archive code on the real store, whose purge fails as a power cut would stop it.
    const app = await createApp(loadConfig({ DATA_DIR: server.dataDir, HL7_MLLP_PORT: '0', LOG_LEVEL: 'silent' }, ROOT_DIR), createLogger('silent'));
    const real = app.store;
    const cut: StorePort = {
      open: () => real.open(),
      close: () => real.close(),
      ping: () => real.ping(),
      find: (collection, filter, options) => real.find(collection, filter, options),
      count: (collection, filter) => real.count(collection, filter),
      commit: (writes) => real.commit(writes),
      purge: async () => {
        throw new Error('power cut');
      },
    };
    try {
      const run = archiveAuditEvents({ store: cut, codec: app.crypto.codec, sealer: app.crypto.sealer, dir: archiveDir(server), before: new Date(Date.now() - 30 * DAY_MS) });
      await expect(run).rejects.toThrow('power cut');
    } finally {
      await app.close();
    }
    const [file] = await archiveFiles(server);
    const archived = Number(/^audit-\d{12}-(\d{12})\.ndjson$/.exec(file)?.[1]);
    expect(archived).toBeGreaterThanOrEqual(4);

    const half = await cli(server.dataDir, 'verify');
    expect(half.output).toMatch(/Audit chain BROKEN at event 1 \(AuditEvent\/audit-1\): event 1 is archived and still in the store \(an interrupted npm run audit:archive: run it again to finish\)/);
    expect(half.code).toBe(1);

    const finished = await cli(server.dataDir, 'archive', ['--older-than', '30']);
    expect(finished.output).toContain(`Finished an interrupted run: removed ${archived} already archived AuditEvents from the store.`);
    expect(finished.output).toContain('No AuditEvent to archive.');
    expect(finished.code).toBe(0);
    expect(await archiveFiles(server)).toEqual([file]);

    const whole = await cli(server.dataDir, 'verify');
    expect(whole.output).toMatch(new RegExp(`Audit chain intact: \\d+ AuditEvents verified \\(${archived} archived`));
    expect(whole.code).toBe(0);
  });
});
