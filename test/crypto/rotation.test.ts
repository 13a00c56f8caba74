import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INDEX_KID_FIELD } from '../../src/crypto/blind-index.js';
import { HOLDS_KEY } from '../../src/workflow/hold-index.js';
import { withNewCurrentKeys, type JwkSet } from '../../src/crypto/key-ring.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { jweKidsOnDisk, runCli } from './support.js';

/**
 * Key rotation (issue 9): `npm run rotate-keys -- --new-key` against a running server, which keeps
 * serving; afterwards no stored version, no index entry and no byte on disk is under the old keys.
 */

let server: TestServer;
let fhir: FhirClient;
const ids: string[] = [];

const keyFile = (): string => path.join(server.dataDir, 'crypto', 'keys.json');
const readSet = (): JwkSet => JSON.parse(readFileSync(keyFile(), 'utf8')) as JwkSet;
const kidOfAlg = (set: JwkSet, alg: string): string => String(set.keys.find((k) => (alg === 'at-rest' ? k.alg === 'dir' || k.alg === 'A256KW' : k.alg === alg))!.kid);

function patient(i: number, version: number): Patient {
  return { resourceType: 'Patient', name: [{ family: `Rot${i}`, given: [`v${version}`] }], telecom: [{ system: 'phone', value: `555-${i}` }] };
}

/** Every stored version's at-rest kid and index kid, as counts. */
async function storedKids(): Promise<{ atRest: Map<string, number>; index: Map<string, number> }> {
  const atRest = new Map<string, number>();
  const index = new Map<string, number>();
  for (const record of await server.app.store.find('history', {})) {
    if (!record.resource) continue;
    const kid = server.app.crypto.codec.kidOf(record.resource);
    if (kid) atRest.set(kid, (atRest.get(kid) ?? 0) + 1);
    const ik = record.index?.[INDEX_KID_FIELD] as string | undefined;
    if (ik) index.set(ik, (index.get(ik) ?? 0) + 1);
  }
  return { atRest, index };
}

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
  for (let i = 0; i < 60; i++) {
    const p = await fhir.create(patient(i, 1));
    ids.push(p.id!);
    await fhir.put(`Patient/${p.id}`, { ...patient(i, 2), id: p.id });
  }
  expect((await fhir.delete(`Patient/${ids[0]}`)).status).toBe(200);
});
afterAll(() => server?.destroy());

describe('rotate-keys --new-key against a running server', () => {
  let oldRest: string;
  let oldIndex: string;

  it('re-encrypts every version under the new key while the server keeps serving, with a progress bar', async () => {
    oldRest = kidOfAlg(readSet(), 'at-rest');
    oldIndex = kidOfAlg(readSet(), 'HS256');
    expect((await storedKids()).atRest.get(oldRest)).toBe(120);

    let writing = true;
    const written: string[] = [];
    const writer = (async () => {
      for (let i = 1000; writing; i++) {
        const res = await fhir.post('Patient', patient(i, 1));
        expect(res.status).toBe(201);
        written.push(res.body.id);
        expect((await fhir.get(`Patient/${ids[1 + (i % 50)]}`)).body.telecom[0].value).toMatch(/^555-/);
      }
    })();
    const result = await runCli('rotate-keys', ['--new-key'], { DATA_DIR: server.dataDir });
    writing = false;
    await writer;

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/Added new current keys rest-.*, index-/);
    expect(result.stderr).toMatch(/\[#{30}\] 100%/);
    expect(result.stderr).toMatch(/Done: \d+ of \d+ stored versions re-encrypted under key rest-/);
    expect(written.length).toBeGreaterThan(0);

    const set = readSet();
    const newRest = kidOfAlg(set, 'at-rest');
    const newIndex = kidOfAlg(set, 'HS256');
    expect(newRest).not.toBe(oldRest);
    expect(set.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldRest, oldIndex]));
    const kids = await storedKids();
    expect([...kids.atRest.keys()]).toEqual([newRest]);
    expect([...kids.index.keys()]).toEqual([newIndex]);
    // On disk too: the store compacted, so no JWE under the old key is left in any file.
    expect([...jweKidsOnDisk(server.dataDir).keys()]).toEqual([newRest]);
  }, 120_000);

  it('reads, searches (tokens under the new index key) and history still work', async () => {
    expect((await fhir.get<Patient>(`Patient/${ids[5]}`)).body.telecom![0].value).toBe('555-5');
    expect((await fhir.get(`Patient?phone=555-5`)).body.entry.map((e: { resource: Patient }) => e.resource.id)).toEqual([ids[5]]);
    expect((await fhir.get(`Patient/${ids[5]}/_history`)).body.entry).toHaveLength(2);
    expect((await fhir.get(`Patient/${ids[0]}`)).status).toBe(410);
  });

  it('after removing the old keys and restarting, everything is still readable', async () => {
    writeFileSync(keyFile(), JSON.stringify({ keys: readSet().keys.filter((k) => k.kid !== oldRest && k.kid !== oldIndex) }), { mode: 0o600 });
    server = await server.restart();
    fhir = fhirClient(server.fhirUrl);
    expect((await fhir.get<Patient>(`Patient/${ids[7]}/_history/1`)).body.name![0].given).toEqual(['v1']);
    expect((await fhir.get(`Patient?phone=555-7`)).body.total).toBe(1);
  });

  it('refuses to rotate when the key file lost a key the server still uses', async () => {
    const set = readSet();
    const inUse = kidOfAlg(set, 'at-rest');
    const replaced = withNewCurrentKeys(set).keys.filter((k) => k.kid !== inUse);
    writeFileSync(keyFile(), JSON.stringify({ keys: replaced }), { mode: 0o600 });
    const result = await runCli('rotate-keys', [], { DATA_DIR: server.dataDir });
    writeFileSync(keyFile(), JSON.stringify(set), { mode: 0o600 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no longer holds ${inUse}`);
  }, 120_000);
});

describe('rotate-keys with the server stopped', () => {
  it('opens the store itself and rotates, keeping what the workflow rules keep beside the search values', async () => {
    // Issue 17: a booking's hold keys are not extracted from the resource; re-indexing must not drop them.
    expect((await fhir.put('Practitioner/rot-d1', { resourceType: 'Practitioner', id: 'rot-d1' })).status).toBe(201);
    const booked = await fhir.post('Appointment', {
      resourceType: 'Appointment',
      status: 'booked',
      start: '2027-03-01T09:00:00Z',
      end: '2027-03-01T09:30:00Z',
      participant: [{ actor: { reference: 'Practitioner/rot-d1' }, status: 'accepted' }],
    });
    expect(booked.status, booked.text).toBe(201);
    const holds = async (): Promise<unknown> => (await server.app.store.find('current', { resourceType: 'Appointment', id: booked.body.id }))[0].index?.[HOLDS_KEY];
    expect(await holds()).toEqual(['Practitioner/rot-d1@2027-03-01T09']);
    await server.stop();
    const before = kidOfAlg(readSet(), 'at-rest');
    const result = await runCli('rotate-keys', ['--new-key'], { DATA_DIR: server.dataDir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/No server answers/);
    const after = kidOfAlg(readSet(), 'at-rest');
    expect(after).not.toBe(before);
    server = await server.restart();
    fhir = fhirClient(server.fhirUrl);
    expect((await storedKids()).atRest.get(before)).toBeUndefined();
    expect([...jweKidsOnDisk(server.dataDir).keys()]).toEqual([after]);
    expect((await fhir.get<Patient>(`Patient/${ids[9]}`)).body.telecom![0].value).toBe('555-9');
    expect(await holds()).toEqual(['Practitioner/rot-d1@2027-03-01T09']);
  }, 120_000);
});
