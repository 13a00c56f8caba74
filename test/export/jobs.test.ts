import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import * as oauth from 'openid-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createClientStore, type ClientRegistration } from '../../src/auth/server/clients.js';
import { fixtures, seed } from '../auth/fixtures.js';
import { errorCode, fhirClient } from '../support/fhir-client.js';
import { freePort, startServer, type TestServer } from '../support/server.js';
import { jweKidsOnDisk, markersOnDisk, runCli } from '../crypto/support.js';
import { clientWith, exportAll, exported, kickOff, poll } from './support.js';

// Export jobs over time: a token from the SMART Backend Services flow, expiry, and a restart.
let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.destroy()));
  servers = [];
});

async function started(env: Record<string, string> = {}): Promise<TestServer> {
  const port = await freePort();
  const server = await startServer({ PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, ...env });
  servers.push(server);
  await seed(fhirClient(server.fhirUrl), [fixtures.patient('p1'), fixtures.medicationRequest('mr1', 'p1'), fixtures.practitioner('d1')]);
  return server;
}

const jobDir = (server: TestServer, statusUrl: string): string => path.join(server.dataDir, 'export', statusUrl.split('/').pop()!);
const exists = (dir: string): Promise<string> => readdir(dir).then(() => 'present', () => 'gone');

describe('export jobs', () => {
  it('exports with a token of the SMART Backend Services flow, limited to its registered scopes', async () => {
    const server = await started();
    const { privateKey, publicKey } = await generateKeyPair('RS384');
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    const registration = { name: 'Nightly export', kind: 'backend', scope: 'system/Patient.rs system/MedicationRequest.rs', jwks: { keys: [{ ...jwk, kid, alg: 'RS384', use: 'sig' }] } } as ClientRegistration;
    // Registered as the server's CLI does (`npm run auth -- clients add`).
    const { clientId } = createClientStore(path.join(server.dataDir, 'auth')).register(registration);
    const config = await oauth.discovery(new URL(`${server.origin}/auth`), clientId, undefined, oauth.PrivateKeyJwt({ key: privateKey, kid }), { execute: [oauth.allowInsecureRequests] });
    const { access_token: token } = await oauth.clientCredentialsGrant(config, { scope: 'system/Patient.rs system/MedicationRequest.rs' });
    const { manifest } = await exportAll(clientWith(server.fhirUrl, token), '$export');
    expect(await exported(manifest, token)).toEqual(['MedicationRequest/mr1', 'Patient/p1']);
    expect((await clientWith(server.fhirUrl, token).get('$export?_type=Practitioner', { Prefer: 'respond-async' })).status).toBe(403);
  });

  it('removes a finished job’s files when they expire (EXPORT_FILE_TTL_SECONDS)', async () => {
    const server = await started({ EXPORT_FILE_TTL_SECONDS: '1' });
    const token = await server.token({ scope: 'system/*.rs' });
    const fhir = clientWith(server.fhirUrl, token);
    const { statusUrl, manifest } = await exportAll(fhir, '$export?_type=Patient');
    expect(await exists(jobDir(server, statusUrl))).toBe('present');
    // The sweep runs every TTL/2 (at least 1 s); the job folder goes, and the URLs answer 404.
    await expect.poll(() => exists(jobDir(server, statusUrl)), { timeout: 10_000, interval: 200 }).toBe('gone');
    expect((await fhir.get(statusUrl)).status).toBe(404);
    expect((await fetch(manifest.output[0].url, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(404);
  });

  it('fails the jobs a restart interrupted, and says so on the status URL', async () => {
    const first = await started({ EXPORT_MAX_CONCURRENT: '1' });
    const token = await first.token({ scope: 'system/*.rs' });
    const fhir = clientWith(first.fhirUrl, token);
    // One job runs at a time: the later ones are still queued when the server stops.
    const urls = [await kickOff(fhir, '$export'), await kickOff(fhir, '$export'), await kickOff(fhir, '$export')];
    const second = await first.restart();
    // The same data folder: only the running server is destroyed.
    servers = [second];
    const last = await poll(clientWith(second.fhirUrl, token), urls[2]);
    expect(last.status).toBe(500);
    expect(last.body.issue[0].diagnostics).toMatch(/restarted/);
    expect(errorCode(last.body)).toBe('internal');
    // Nothing of the interrupted job but its state remains.
    expect(await readdir(jobDir(second, urls[2]))).toEqual(['job.jwe']);
    // New jobs run as before.
    const { manifest } = await exportAll(clientWith(second.fhirUrl, token), '$export?_type=Patient');
    expect(await exported(manifest, token)).toEqual(['Patient/p1']);
  });

  it('moves finished jobs to the new key on rotate-keys --new-key; files still download', async () => {
    const server = await started();
    const token = await server.token({ scope: 'system/*.rs' });
    const { statusUrl, manifest } = await exportAll(clientWith(server.fhirUrl, token), '$export?_type=Patient,MedicationRequest');
    const before = server.app.crypto.sealer.currentKid();
    expect([...jweKidsOnDisk(jobDir(server, statusUrl)).keys()]).toEqual([before]);
    const result = await runCli('rotate-keys', ['--new-key'], { DATA_DIR: server.dataDir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/export: 3 record\(s\) re-encrypted/);
    const after = server.app.crypto.sealer.currentKid();
    expect(after).not.toBe(before);
    expect([...jweKidsOnDisk(jobDir(server, statusUrl)).keys()]).toEqual([after]);
    expect(markersOnDisk(jobDir(server, statusUrl), ['Family-p1', 'amoxicillin'])).toEqual([]);
    expect(await exported(manifest, token)).toEqual(['MedicationRequest/mr1', 'Patient/p1']);
  }, 120_000);

  it('pages through more records than a page and more patients than a batch, rolling files over', async () => {
    const server = await started({ EXPORT_FILE_MAX_RESOURCES: '200', FHIR_MAX_BUNDLE_ENTRIES: '2000' });
    // 520 more patients, each with a prescription: past a 500-record page and three 200-patient batches.
    const entry = Array.from({ length: 520 }, (_, i) => [
      { resource: fixtures.patient(`bulk-${i}`), request: { method: 'PUT', url: `Patient/bulk-${i}` } },
      { resource: fixtures.medicationRequest(`bulk-mr-${i}`, `bulk-${i}`), request: { method: 'PUT', url: `MedicationRequest/bulk-mr-${i}` } },
    ]).flat();
    const res = await fhirClient(server.fhirUrl).post('', { resourceType: 'Bundle', type: 'transaction', entry });
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    const token = await server.token({ scope: 'system/*.rs' });
    for (const level of ['$export', 'Patient/$export']) {
      const { manifest } = await exportAll(clientWith(server.fhirUrl, token), `${level}?_type=Patient,MedicationRequest`);
      const patients = manifest.output.filter((f) => f.type === 'Patient');
      expect(patients.map((f) => f.count)).toEqual([200, 200, 121]);
      expect(patients.map((f) => f.url.split('/').pop())).toEqual(['Patient-1.ndjson', 'Patient-2.ndjson', 'Patient-3.ndjson']);
      const all = await exported(manifest, token);
      expect(new Set(all).size).toBe(all.length);
      expect(all.filter((r) => r.startsWith('MedicationRequest/'))).toHaveLength(521);
      expect(all.filter((r) => r.startsWith('Patient/'))).toHaveLength(521);
    }
  }, 180_000);
});
