import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { Patient } from '@medplum/fhirtypes';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRestore } from '../../src/cli/restore.js';
import { generateJwkSet } from '../../src/crypto/key-ring.js';
import { ADT } from '../hl7v2/support.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { authHeaders } from '../support/tokens.js';
import { ROOT_DIR, startServer, type TestServer } from '../support/server.js';
import { nodeScript } from '../support/node-script.js';

/**
 * `npm run backup` and `npm run restore` (issue 18 item 3), run as the real commands (tsx
 * children) against a server's DATA_DIR populated over HTTP, backed up while writes go on,
 * restored into a fresh DATA_DIR that a new server then serves.
 */

interface Run {
  code: number;
  output: string;
}

/** One of the repository's commands (`src/cli/<name>.ts`) on a data folder, as `npm run` starts it. */
async function run(command: string, dataDir: string, args: string[] = []): Promise<Run> {
  const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', HL7_MLLP_PORT: '0', MONGODB_URI: '' };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...nodeScript(`src/cli/${command}.ts`), ...args], { cwd: ROOT_DIR, env });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

interface VersionRow {
  vid: number;
  txn: number;
  type: string;
  id: string;
  version: number;
  record: string;
}

/**
 * `npm run restore` run in this process (the command's own function, as its entry point calls it):
 * the refusals below need no tsx child of their own.
 */
async function restoreInProcess(dataDir: string, args: string[]): Promise<Run> {
  let output = '';
  const stderr = new Writable({
    write(chunk, _encoding, done) {
      output += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  const code = await runRestore(args, { DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, stderr);
  return { code, output };
}

/** Every version the embedded store of a data folder holds, in commit order (read beside a running server: WAL). */
function versionRows(dataDir: string): VersionRow[] {
  const db = new Sqlite(path.join(dataDir, 'fhirgate.db'), { readonly: true });
  try {
    return db.prepare('SELECT vid, txn, type, id, version, record FROM versions ORDER BY vid').all() as VersionRow[];
  } finally {
    db.close();
  }
}

/** Patients with several versions (telecom is encrypted at rest by default), one deleted, and reads (AuditEvents). */
async function populate(fhir: FhirClient): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const created: Patient = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: `Backup${i}` }], telecom: [{ system: 'phone', value: `+41 44 000 00 0${i}` }] });
    ids.push(created.id!);
    for (let v = 2; v <= 3; v++) {
      expect((await fhir.put(`Patient/${created.id}`, { ...created, name: [{ family: `Backup${i}`, given: [`v${v}`] }] })).status).toBe(200);
    }
    expect((await fhir.get(`Patient/${created.id}`)).status).toBe(200);
  }
  expect((await fhir.delete(`Patient/${ids[5]}`)).status).toBe(200);
  return ids;
}

const SKIP = process.env.FHIRGATE_TEST_STORE === 'mongodb'; // the embedded store's files are what is backed up

describe.skipIf(SKIP)('npm run backup / npm run restore', () => {
  let source: TestServer;
  let work: string;
  let ids: string[];

  beforeAll(async () => {
    source = await startServer();
    work = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-backup-'));
    ids = await populate(fhirClient(source.fhirUrl));
    // One HL7 v2 message, for the archive (DATA_DIR/hl7v2/messages.jsonl, raw text sealed under the key ring).
    const posted = await fetch(`${source.origin}/hl7/v2`, { method: 'POST', headers: { 'Content-Type': 'x-application/hl7-v2+er7', ...authHeaders(source.fhirUrl) }, body: ADT('BK-1', 'MRN-BK-1', 'Archived') });
    expect(posted.headers.get('x-hl7-ack-code')).toBe('AA');
  }, 60_000);
  afterAll(async () => {
    await source.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('backs up while the server writes, restores into a fresh DATA_DIR, and a server there serves every version; the audit chain verifies', { timeout: 120_000 }, async () => {
    const fhir = fhirClient(source.fhirUrl);
    const before = versionRows(source.dataDir).length;
    // Writes keep going for the whole backup: new patients and updates, each with its AuditEvent.
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        const p = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: `During${writes}` }] });
        expect((await fhir.put(`Patient/${p.id}`, { ...p, active: true })).status).toBe(200);
        writes++;
        await new Promise((resolve) => setTimeout(resolve, 50)); // steady, not flat out: the comparison below reads every version back
      }
    })();
    const file = path.join(work, 'full.fgbak');
    const backup = await run('backup', source.dataDir, ['--out', file]);
    writing = false;
    await writer;
    expect(backup.output).toMatch(/Backup [0-9a-f-]+ written: .*full\.fgbak/);
    expect(backup.output).toMatch(/KiB \[#+\] 100%/); // the progress bar
    expect(backup.output).toMatch(/key ring holding at-rest key rest-/);
    expect(backup.code).toBe(0);
    expect((await readFile(file)).subarray(0, 18).toString()).toBe('FHIRGATE-BACKUP/1\n');
    expect(await readFile(file, 'utf8')).not.toContain('Backup0'); // encrypted: no family name in clear
    expect(writes).toBeGreaterThan(0);

    // A fresh DATA_DIR holding only the key ring, as the README tells operators to prepare it.
    const target = path.join(work, 'restored');
    await mkdir(path.join(target, 'crypto'), { recursive: true });
    await cp(path.join(source.dataDir, 'crypto', 'keys.json'), path.join(target, 'crypto', 'keys.json'));
    const restore = await run('restore', target, [file]);
    expect(restore.output).toMatch(/Restored backup [0-9a-f-]+ .*: \d+ files\./);
    expect(restore.code).toBe(0);

    // Consistent as of one commit: the restored store is exactly the source's first N versions, N between the counts before and after.
    const sourceRows = versionRows(source.dataDir);
    const restoredRows = versionRows(target);
    expect(restoredRows.length).toBeGreaterThan(before); // writes landed between the start of the backup and its snapshot…
    expect(restoredRows.length).toBeLessThan(sourceRows.length); // …and after it
    expect(restoredRows).toEqual(sourceRows.slice(0, restoredRows.length));
    expect(restore.output).toContain(`${restoredRows.length} versions`);
    expect(await readFile(path.join(target, 'auth', 'signing-keys.json'), 'utf8')).toBe(await readFile(path.join(source.dataDir, 'auth', 'signing-keys.json'), 'utf8'));
    expect(await readdir(target)).not.toContain('LOCK');

    // A server on the restored folder serves every version of every restored resource as the source does (decrypted with the same key ring).
    const restored = await startServer({}, target);
    try {
      const copy = fhirClient(restored.fhirUrl);
      const clinical = restoredRows.filter((r) => r.type !== 'AuditEvent');
      expect(clinical.length).toBeGreaterThan(ids.length * 3);
      const resources = [...new Set(clinical.map((r) => `${r.type}/${r.id}`))];
      for (const resource of resources) {
        // The restored history of each resource is the source's, less versions written after the backup.
        const versions = clinical.filter((r) => `${r.type}/${r.id}` === resource).length;
        const [a, b] = await Promise.all([fhir.get(`${resource}/_history`), copy.get(`${resource}/_history`)]);
        expect(b.status, resource).toBe(200);
        expect(b.body.entry, resource).toHaveLength(versions);
        const entries = (bundle: any): unknown[] => bundle.entry.map(({ resource, request, response }: any) => ({ resource, request, response })); // fullUrl names the server
        expect(entries(b.body), resource).toEqual(entries(a.body).slice(a.body.entry.length - versions));
      }
      expect((await copy.get(`Patient/${ids[0]}`)).body.telecom).toEqual([{ system: 'phone', value: '+41 44 000 00 00' }]);
      expect((await copy.get(`Patient/${ids[5]}`)).status).toBe(410);
      expect((await copy.get(`Patient/${ids[1]}/_history`)).body.entry).toHaveLength(3);
      // The HL7 v2 archive came along, its raw text readable with the same key ring.
      const listed = (await (await fetch(`${restored.origin}/hl7/messages?controlId=BK-1`, { headers: authHeaders(restored.fhirUrl) })).json()) as { messages: Array<{ id: string; outcome: string }> };
      expect(listed.messages).toMatchObject([{ outcome: 'applied' }]);
      const message = (await (await fetch(`${restored.origin}/hl7/messages/${listed.messages[0].id}`, { headers: authHeaders(restored.fhirUrl) })).json()) as { raw: string };
      expect(message.raw).toBe(ADT('BK-1', 'MRN-BK-1', 'Archived'));
    } finally {
      await restored.stop();
    }
    // The restored AuditEvents and those the new server added form one intact chain.
    const verify = await run('audit-verify', target);
    expect(verify.output).toMatch(/Audit chain intact: \d+ AuditEvents verified/);
    expect(verify.code).toBe(0);
  });

  it('refuses a backup made under another key ring, and leaves the target untouched', { timeout: 60_000 }, async () => {
    const file = path.join(work, 'full.fgbak');
    const target = path.join(work, 'foreign');
    await mkdir(path.join(target, 'crypto'), { recursive: true });
    // The key ring of another installation.
    await writeFile(path.join(target, 'crypto', 'keys.json'), JSON.stringify(await generateJwkSet()), { mode: 0o600 });
    const restore = await restoreInProcess(target, [file]);
    expect(restore.output).toMatch(/restore failed: .*full\.fgbak was encrypted with at-rest key 'rest-[^']+', which this key ring does not hold; restore with the key ring the backup was made with/);
    expect(restore.code).toBe(1);
    expect(await readdir(target)).toEqual(['crypto']);
  });

  it('refuses a non-empty DATA_DIR unless --force, refuses a tampered backup before changing anything, and replaces the contents with --force', { timeout: 60_000 }, async () => {
    const file = path.join(work, 'full.fgbak');
    const target = path.join(work, 'restored'); // restored by the first test, served since
    const refused = await restoreInProcess(target, [file]);
    expect(refused.output).toMatch(/is not empty \(it holds .*fhirgate\.db.*\); restore into an empty DATA_DIR, or pass --force/);
    expect(refused.code).toBe(1);

    const bytes = await readFile(file);
    const tampered = path.join(work, 'tampered.fgbak');
    bytes[bytes.length - 40] ^= 0x01;
    await writeFile(tampered, bytes);
    const rowsBefore = versionRows(target);
    const forcedTampered = await restoreInProcess(target, [tampered, '--force']);
    expect(forcedTampered.output).toMatch(/restore failed: chunk \d+ \(from byte \d+ of the encrypted body\) does not decrypt: the file was altered or is damaged/);
    expect(forcedTampered.code).toBe(1);
    expect(versionRows(target)).toEqual(rowsBefore);
    expect((await readdir(target)).filter((n) => n.startsWith('.restore-'))).toEqual([]);

    // --force with the intact backup: the AuditEvents the served copy added since are gone again.
    const forced = await restoreInProcess(target, [file, '--force']);
    expect(forced.output).toMatch(/Replaced: .*fhirgate\.db/);
    expect(forced.code).toBe(0);
    const rows = versionRows(target);
    expect(rows.length).toBeLessThan(rowsBefore.length);
    expect(rows).toEqual(rowsBefore.slice(0, rows.length));
  });
});
