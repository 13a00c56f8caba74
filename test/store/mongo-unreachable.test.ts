import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateJwkSet } from '../../src/crypto/key-ring.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { freePort, startServer, type TestServer } from '../support/server.js';

/**
 * The real app with MONGODB_URI pointing at a loopback port nothing listens on (issue 5, item 5):
 * it starts anyway, reports not ready, answers FHIR requests 503 with Retry-After, and says why
 * in its log. Short timeouts keep every attempt well under a second.
 */
let server: TestServer;
let fhir: FhirClient;
let port: number;
let startedInMs: number;
let keysDir: string;

beforeAll(async () => {
  port = await freePort();
  // A supplied key ring, as in production: without one FhirGate must first ask the store whether
  // it holds encrypted data before generating a ring, and with the store unreachable it cannot.
  keysDir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-keys-'));
  const keysFile = path.join(keysDir, 'keys.json');
  await writeFile(keysFile, JSON.stringify(await generateJwkSet()), { mode: 0o600 });
  const started = Date.now();
  server = await startServer({
    MONGODB_URI: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    MONGODB_CONNECT_TIMEOUT_MS: '200',
    MONGODB_SERVER_SELECTION_TIMEOUT_MS: '200',
    FHIRGATE_KEYS_FILE: keysFile,
  });
  startedInMs = Date.now() - started;
  fhir = fhirClient(server.fhirUrl);
});
afterAll(async () => {
  await server?.destroy();
  await rm(keysDir, { recursive: true, force: true });
});

const logLines = (): Array<Record<string, unknown>> => server.logs.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('MongoDB unreachable at start', () => {
  it('starts and listens without waiting for MongoDB', () => {
    expect(startedInMs).toBeLessThan(15_000);
  });

  it('is alive but not ready', async () => {
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.origin}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'unavailable', store: 'down' });
  });

  it('answers reads, searches and writes with 503, Retry-After and an OperationOutcome', async () => {
    const responses = [
      await fhir.get('Patient/some-id'),
      await fhir.get('Patient?family=smith'),
      await fhir.get('Patient/_history'),
      await fhir.post('Patient', { resourceType: 'Patient', name: [{ family: 'Down' }] }),
      await fhir.put('Patient/p1', { resourceType: 'Patient', id: 'p1', active: true }),
    ];
    for (const res of responses) {
      expect(res.status, res.text).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].details.coding[0].code).toBe('store-unavailable');
    }
  });

  it('still serves what needs no store', async () => {
    expect((await fhir.get('metadata')).status).toBe(200);
  });

  it('logs one clear line naming the target (without credentials) and that it keeps retrying', () => {
    const line = logLines().find((l) => l.msg === 'mongodb store: cannot use MongoDB; readiness stays false (GET /readyz answers 503) and the connection is retried');
    expect(line).toMatchObject({ level: 50, target: `mongodb://127.0.0.1:${port}`, attempt: 1, component: 'store' });
    expect(String(line!.reason)).toMatch(/ECONNREFUSED|Server selection timed out|connect/i);
    expect(line!.retryInMs).toBeGreaterThan(0);
  });
});

describe('MongoDB unreachable at the very first start, without a key ring', () => {
  it('refuses to generate an encryption key ring it cannot check against the store', async () => {
    const closed = await freePort();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-test-'));
    const env = { MONGODB_URI: `mongodb://127.0.0.1:${closed}/?directConnection=true`, MONGODB_CONNECT_TIMEOUT_MS: '200', MONGODB_SERVER_SELECTION_TIMEOUT_MS: '200' };
    await expect(startServer(env, dataDir)).rejects.toThrow(/store cannot be reached to check that it holds no encrypted data/);
    await rm(dataDir, { recursive: true, force: true });
  });
});
