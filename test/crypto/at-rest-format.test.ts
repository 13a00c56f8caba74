import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { compactDecrypt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateJwkSet, withNewCurrentKeys, type JwkSet } from '../../src/crypto/key-ring.js';
import { fhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { jweHeader, jwesOnDisk, runCli } from './support.js';

/**
 * Issue 14: new at-rest keys are `dir` (the ring key is the A256GCM content key: no unwrap per read).
 * A DATA_DIR written under an A256KW ring (before the change) still reads, through HTTP, from the
 * real files; a new `dir` key takes over at the next rotation; both formats are standard compact JWE
 * that the `jose` package decrypts with the ring's key alone.
 */

let dataDir: string;
let server: TestServer | undefined;
const keyFile = (): string => path.join(dataDir, 'crypto', 'keys.json');
const readSet = (): JwkSet => JSON.parse(readFileSync(keyFile(), 'utf8')) as JwkSet;
const writeSet = (set: JwkSet): void => writeFileSync(keyFile(), JSON.stringify(set), { mode: 0o600 });
const keyBytes = (set: JwkSet, kid: string): Uint8Array => Buffer.from(String(set.keys.find((k) => k.kid === kid)!.k), 'base64url');

const patient = (phone: string): Patient => ({ resourceType: 'Patient', name: [{ family: 'Format' }], telecom: [{ system: 'phone', value: phone }] });

/** The JWEs on disk that hold a resource's elements (the HL7 archive holds none here), by their header's alg. */
function storedJwes(alg: string): string[] {
  return jwesOnDisk(dataDir).filter((jwe) => jweHeader(jwe).alg === alg);
}

/** What the `jose` package (not node-jose) finds in a stored JWE, given only the ring key its kid names. */
async function openWithJose(jwe: string, set: JwkSet): Promise<{ r: string; o: { telecom?: Array<{ value?: string }> } }> {
  const { plaintext, protectedHeader } = await compactDecrypt(jwe, keyBytes(set, String(jweHeader(jwe).kid)));
  expect(protectedHeader.enc).toBe('A256GCM');
  return JSON.parse(new TextDecoder().decode(plaintext)) as { r: string; o: { telecom?: Array<{ value?: string }> } };
}

let oldId: string;
let oldKid: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'fhirgate-format-'));
  // A DATA_DIR from before issue 14: its generated ring's at-rest key is A256KW.
  const set = await generateJwkSet();
  set.keys[0] = { ...set.keys[0], alg: 'A256KW' };
  oldKid = String(set.keys[0].kid);
  mkdirSync(path.dirname(keyFile()), { recursive: true, mode: 0o700 });
  writeSet(set);
  server = await startServer({}, dataDir);
  const created = await fhirClient(server.fhirUrl).create(patient('555-0100'));
  oldId = created.id!;
  await server.stop();
});
afterAll(() => server?.destroy());

describe('at-rest JWE format (issue 14)', () => {
  it('a ring generated now has a dir at-rest key', async () => {
    expect((await generateJwkSet()).keys[0]).toMatchObject({ kty: 'oct', alg: 'dir', use: 'enc' });
    expect(withNewCurrentKeys(readSet()).keys[0]).toMatchObject({ kty: 'oct', alg: 'dir' });
  });

  it('the old format on disk is A256KW + A256GCM with the kid, and jose decrypts it with the ring key', async () => {
    const old = storedJwes('A256KW');
    expect(old.length).toBeGreaterThan(0);
    expect(jweHeader(old[0])).toMatchObject({ alg: 'A256KW', enc: 'A256GCM', kid: oldKid });
    const payloads = await Promise.all(old.map((jwe) => openWithJose(jwe, readSet())));
    expect(payloads.find((p) => p.r === `Patient/${oldId}/_history/1`)?.o.telecom?.[0]?.value).toBe('555-0100');
  });

  it('after restarting, the old record reads through HTTP', async () => {
    server = await server!.restart();
    const read = await fhirClient(server.fhirUrl).get<Patient>(`Patient/${oldId}`);
    expect(read.status).toBe(200);
    expect(read.body.telecom).toEqual([{ system: 'phone', value: '555-0100' }]);
    await server.stop();
  });

  it('with a new current dir key: old records still read, new ones are dir JWEs that jose decrypts', async () => {
    writeSet(withNewCurrentKeys(readSet()));
    const newKid = String(readSet().keys[0].kid);
    server = await server!.restart();
    const fhir = fhirClient(server.fhirUrl);
    expect((await fhir.get<Patient>(`Patient/${oldId}`)).body.telecom?.[0]?.value).toBe('555-0100');
    const created = await fhir.create(patient('555-0200'));
    await server.stop();
    const fresh = storedJwes('dir');
    expect(fresh.map((jwe) => jweHeader(jwe))).toContainEqual({ alg: 'dir', enc: 'A256GCM', kid: newKid });
    const payloads = await Promise.all(fresh.map((jwe) => openWithJose(jwe, readSet())));
    expect(payloads.find((p) => p.r === `Patient/${created.id}/_history/1`)?.o.telecom?.[0]?.value).toBe('555-0200');
  });

  it('a rotation re-encrypts the A256KW records under the dir key; they still read', async () => {
    const result = await runCli('rotate-keys', [], { DATA_DIR: dataDir });
    expect(result.code, result.stderr).toBe(0);
    expect(storedJwes('A256KW')).toEqual([]);
    server = await server!.restart();
    const read = await fhirClient(server.fhirUrl).get<Patient>(`Patient/${oldId}`);
    expect(read.body.telecom).toEqual([{ system: 'phone', value: '555-0100' }]);
    const payloads = await Promise.all(storedJwes('dir').map((jwe) => openWithJose(jwe, readSet())));
    expect(payloads.find((p) => p.r === `Patient/${oldId}/_history/1`)?.o.telecom?.[0]?.value).toBe('555-0100');
  }, 120_000);
});
