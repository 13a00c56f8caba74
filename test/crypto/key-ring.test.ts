import { mkdtemp, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { checkJwkSet, generateJwkSet, KeyRingError, type Jwk, type JwkSet } from '../../src/crypto/key-ring.js';
import { errorCode, fhirClient } from '../support/fhir-client.js';
import { ROOT_DIR, startServer, type TestServer } from '../support/server.js';

const dirs: string[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-keys-'));
  dirs.push(dir);
  return dir;
}

async function start(env: Record<string, string>, dataDir: string): Promise<TestServer> {
  const server = await startServer(env, dataDir);
  servers.push(server);
  return server;
}

const phonePatient = (phone: string): Patient => ({ resourceType: 'Patient', telecom: [{ system: 'phone', value: phone }] });

describe('the key ring on a fresh machine', () => {
  it('is generated under DATA_DIR/crypto with mode 0600, and said so in the log', async () => {
    const dataDir = await tempDir();
    const server = await start({}, dataDir);
    const file = path.join(dataDir, 'crypto', 'keys.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(server.logs.some((l) => l.includes('generated a new key ring') && l.includes(file))).toBe(true);
    expect(server.logs.join('\n')).not.toMatch(/"k":/);
  });
});

describe('JWK set checks', () => {
  const oct = (alg: string, kid: string, bytes = 32): Jwk => ({ kty: 'oct', kid, alg, k: Buffer.alloc(bytes, 1).toString('base64url') });
  it.each<[string, unknown, RegExp]>([
    ['not a set', [{}], /must be a JWK set/],
    ['empty', { keys: [] }, /at least one key/],
    ['no kid', { keys: [{ ...oct('A256KW', 'a'), kid: undefined }] }, /needs a 'kid'/],
    ['duplicate kid', { keys: [oct('A256KW', 'a'), oct('HS256', 'a')] }, /appears twice/],
    ['short at-rest key', { keys: [oct('A256KW', 'a', 16)] }, /must be 256 bits/],
    ['short index key', { keys: [oct('HS256', 'a', 16)] }, /at least 256 bits/],
    ['unsupported', { keys: [oct('A128KW', 'a')] }, /unsupported key \(kty oct, alg A128KW\)/],
    ['public exchange key', { keys: [{ kty: 'EC', kid: 'e', alg: 'ECDH-ES+A256KW', crv: 'P-256', x: 'x', y: 'y' }] }, /private part/],
  ])('%s', (_name, set, message) => {
    expect(() => checkJwkSet(set, 'test')).toThrow(KeyRingError);
    expect(() => checkJwkSet(set, 'test')).toThrow(message);
  });

  it('a set without an at-rest or index key stops the server', async () => {
    const set = await generateJwkSet();
    const err = await start({ FHIRGATE_KEYS: JSON.stringify({ keys: set.keys.filter((k) => k.alg !== 'HS256') }) }, await tempDir()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/FHIRGATE_KEYS has no index key/);
  });
});

describe('a configured key ring that is missing or wrong is a clear start-up error; never clear text', () => {
  it.each<[string, Record<string, string>, RegExp]>([
    ['FHIRGATE_KEYS_FILE missing', { FHIRGATE_KEYS_FILE: '/nonexistent/keys.json' }, /FHIRGATE_KEYS_FILE \(\/nonexistent\/keys\.json\) does not exist/],
    ['FHIRGATE_KEYS not JSON', { FHIRGATE_KEYS: '{"keys": [{"k": "c2VjcmV0' }, /FHIRGATE_KEYS is not valid JSON$/],
  ])('%s', async (_name, env, message) => {
    const err = await start(env, await tempDir()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('c2VjcmV0');
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ FHIRGATE_KEYS: '{}', FHIRGATE_KEYS_FILE: 'k.json' }, /not both/],
    [{ FHIRGATE_ENCRYPTED_ELEMENTS: '{Patient' }, /FHIRGATE_ENCRYPTED_ELEMENTS must be JSON/],
    [{ FHIRGATE_ENCRYPTED_ELEMENTS: '{"Patient": "Patient.telecom"}' }, /arrays of FHIRPath expressions/],
  ])('%j', (env, message) => {
    expect(() => loadConfig(env, ROOT_DIR)).toThrow(message);
  });

  it('another key ring than the data was written with', async () => {
    const dataDir = await tempDir();
    await fhirClient((await start({}, dataDir)).fhirUrl).create(phonePatient('555-1'));
    await servers.pop()!.stop();
    const err = await start({ FHIRGATE_KEYS: JSON.stringify(await generateJwkSet()) }, dataDir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/FHIRGATE_KEYS cannot decrypt the stored data \(.*key 'rest-[^']+' is not in the key ring/);
  });

  it('the same kid with other key bytes', async () => {
    const dataDir = await tempDir();
    const set = await generateJwkSet();
    await fhirClient((await start({ FHIRGATE_KEYS: JSON.stringify(set) }, dataDir)).fhirUrl).create(phonePatient('555-2'));
    await servers.pop()!.stop();
    const forged: JwkSet = { keys: set.keys.map((k) => (k.kid === set.keys[0].kid ? { ...k, k: Buffer.alloc(32, 9).toString('base64url') } : k)) };
    const err = await start({ FHIRGATE_KEYS: JSON.stringify(forged) }, dataDir).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/cannot decrypt the stored data .*does not decrypt with key/);
  });

  it('the generated key ring deleted while encrypted data exists: no new ring is made over it', async () => {
    const dataDir = await tempDir();
    await fhirClient((await start({}, dataDir)).fhirUrl).create(phonePatient('555-3'));
    await servers.pop()!.stop();
    await unlink(path.join(dataDir, 'crypto', 'keys.json'));
    const err = await start({}, dataDir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/holds encrypted resources but the key ring .* is missing; restore it from backup/);
  });
});

describe('a stored JWE under a kid the ring does not hold', () => {
  it('fails the read with a 500 naming the key and a log line, never partial data', async () => {
    const dataDir = await tempDir();
    const file = path.join(dataDir, 'ring.json');
    const b = await generateJwkSet();
    const a = await generateJwkSet();
    await writeFile(file, JSON.stringify(b));
    const y = await fhirClient((await start({ FHIRGATE_KEYS_FILE: file }, dataDir)).fhirUrl).create(phonePatient('555-Y'));
    await servers.pop()!.stop();
    // A later key ring wrote X under key A ...
    await writeFile(file, JSON.stringify({ keys: [a.keys[0], ...b.keys] }));
    const x = await fhirClient((await start({ FHIRGATE_KEYS_FILE: file }, dataDir)).fhirUrl).create(phonePatient('555-X'));
    await servers.pop()!.stop();
    // ... and A was then dropped without a rotation.
    await writeFile(file, JSON.stringify(b));
    const server = await start({ FHIRGATE_KEYS_FILE: file }, dataDir);
    const fhir = fhirClient(server.fhirUrl);
    expect((await fhir.get(`Patient/${y.id}`)).status).toBe(200);
    for (const query of [`Patient/${x.id}`, `Patient?_id=${x.id}`, `Patient/${x.id}/_history`]) {
      const res = await fhir.get(query);
      expect(res.status).toBe(500);
      expect(errorCode(res.body)).toBe('internal');
      expect(res.body.issue[0].diagnostics).toContain(`Patient/${x.id} cannot be decrypted: its key '${String(a.keys[0].kid)}' is not in the key ring`);
      expect(res.text).not.toContain('555-X');
    }
    expect(server.logs.some((l) => l.includes('cannot be decrypted') && l.includes(String(a.keys[0].kid)))).toBe(true);
  });
});
