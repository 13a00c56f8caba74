import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AuditEvent } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patient } from '../bundles/support.js';
import { fhirClient } from '../support/fhir-client.js';
import { ROOT_DIR, startServer, type TestServer } from '../support/server.js';
import { tamperStoreFiles } from './support.js';
import { nodeScript } from '../support/node-script.js';

let server: TestServer;

/** `npm run audit:verify` (tsx src/cli/audit-verify.ts) on the server's data folder, the server stopped. */
async function verify(): Promise<{ code: number; stdout: string }> {
  const env = { ...process.env, DATA_DIR: server.dataDir, LOG_LEVEL: 'warn', HL7_MLLP_PORT: '0', MONGODB_URI: '' };
  try {
    const { stdout } = await promisify(execFile)(process.execPath, nodeScript('src/cli/audit-verify.ts'), { cwd: ROOT_DIR, env });
    return { code: 0, stdout };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

// Tampering edits the embedded store's files; with FHIRGATE_TEST_STORE=mongodb there are none.
describe.skipIf(process.env.FHIRGATE_TEST_STORE === 'mongodb')('npm run audit:verify', () => {
  beforeAll(async () => {
    server = await startServer();
    const fhir = fhirClient(server.fhirUrl);
    const created = await fhir.create(patient('urn:verify', '1') as any);
    for (let i = 0; i < 6; i++) expect((await fhir.get(`Patient/${created.id}`)).status).toBe(200);
    await server.stop();
  });
  afterAll(() => server.destroy());

  it('reports an intact chain with the number of events verified (exit 0)', { timeout: 60_000 }, async () => {
    const { code, stdout } = await verify();
    expect(stdout).toMatch(/Audit chain intact: 7 AuditEvents verified/);
    expect(code).toBe(0);
  });

  it('reports the first altered record, edited in the store files with a valid line checksum (exit 1)', { timeout: 60_000 }, async () => {
    // Someone with access to the files makes a read look like another agent's, and a later one too.
    const blame = (event: AuditEvent): AuditEvent => ({ ...event, agent: [{ ...event.agent![0], who: { reference: 'Practitioner/someone-else' } }] });
    await tamperStoreFiles(server.dataDir, 'audit-3', blame);
    await tamperStoreFiles(server.dataDir, 'audit-6', blame);
    const { code, stdout } = await verify();
    expect(stdout).toMatch(/Audit chain BROKEN at event 3 \(AuditEvent\/audit-3\): content does not match its hash \(altered\)/);
    expect(code).toBe(1);
  });
});
