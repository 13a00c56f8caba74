import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JwkSet } from '../../src/crypto/key-ring.js';
import { jweKidsOnDisk, markersOnDisk, runCli } from '../crypto/support.js';
import { authHeaders } from '../support/tokens.js';
import { startServer, type TestServer } from '../support/server.js';
import { ackCode, rawConnection } from './support.js';

/**
 * The HL7 v2 archive at rest: messages carrying marker values (family name, SSN, address) arrive
 * over MLLP and HTTP; no byte under DATA_DIR and no log line holds the SSN or the address, and no
 * byte of the archive holds any marker (the name is stored in clear in the FHIR store by design:
 * Patient.name is not a default encrypted element). The archive API still shows the raw message
 * to an operator, replay works, and after a rotation the archive is under the new key only.
 */

const RUN = Math.random().toString(36).slice(2, 8).toUpperCase();
const FAMILY = `Fam${RUN}`;
const SSN = `SSN${RUN}`;
const STREET = `Street${RUN}`;
const ALL = [FAMILY, SSN, STREET];
const ENCRYPTED_EVERYWHERE = [SSN, STREET];

const message = (controlId: string, mrn: string): string =>
  [
    `MSH|^~\\&|TESTAPP|TESTFAC|FHIRGATE|HOSP|20240101120000||ADT^A01^ADT_A01|${controlId}|P|2.5.1`,
    'EVN|A01|20240101120000',
    `PID|1||${mrn}^^^TESTFAC^MR||${FAMILY}^Ada||19800101|F|||${STREET} 1^^Springfield^^12345||||||||${SSN}`,
    'PV1|1|I',
  ].join('\r') + '\r';

let server: TestServer;
const archiveDir = (): string => path.join(server.dataDir, 'hl7v2');
const get = async (p: string, headers = authHeaders(server.fhirUrl)) => fetch(`${server.origin}${p}`, { headers });
const markersInLogs = (): string[] => server.logs.filter((line) => ENCRYPTED_EVERYWHERE.some((m) => line.includes(m)) || line.includes(FAMILY));

beforeAll(async () => {
  server = await startServer({ LOG_LEVEL: 'trace' });
  const conn = await rawConnection(server.app.hl7.port()!);
  conn.send(message(`AR-1-${RUN}`, `MRN-AR1-${RUN}`));
  expect(ackCode(await conn.frame(1)).code).toBe('AA');
  // Rejected by processing id: archived with its error, never applied.
  conn.send(message(`AR-2-${RUN}`, `MRN-AR2-${RUN}`).replace('|P|2.5.1', '|X|2.5.1'));
  expect(ackCode(await conn.frame(2)).code).toBe('AR');
  conn.end();
  // A token without write scopes: AR, replayed below by an operator.
  const reader = await server.token({ scope: 'system/*.read' });
  const res = await fetch(`${server.origin}/hl7/v2`, { method: 'POST', headers: { 'Content-Type': 'x-application/hl7-v2+er7', Authorization: `Bearer ${reader}` }, body: message(`AR-3-${RUN}`, `MRN-AR3-${RUN}`) });
  expect(ackCode(await res.text()).code).toBe('AR');
}, 60_000);
afterAll(() => server?.destroy());

describe('HL7 v2 archive: no marker at rest', () => {
  it('the archive journal holds no marker; no file of DATA_DIR holds the SSN or the address', () => {
    expect(markersOnDisk(archiveDir(), ALL)).toEqual([]);
    expect(markersOnDisk(server.dataDir, ENCRYPTED_EVERYWHERE)).toEqual([]);
    // The scan does find what is in clear: the archive's metadata.
    expect(markersOnDisk(archiveDir(), [`AR-1-${RUN}`]).length).toBeGreaterThan(0);
    expect([...jweKidsOnDisk(archiveDir()).keys()]).toEqual([server.app.crypto.sealer.currentKid()]);
  });

  it('an operator still reads the raw message, and text search works on the decrypted content', async () => {
    const { messages } = await (await get(`/hl7/messages?controlId=AR-1-${RUN}`)).json();
    expect(messages).toHaveLength(1);
    const full = await (await get(`/hl7/messages/${messages[0].id}`)).json();
    expect(full.raw).toContain(SSN);
    expect(full.raw).toContain(FAMILY);
    const found = await (await get(`/hl7/messages?text=${SSN.toLowerCase()}`)).json();
    expect(found.messages.map((m: { controlId: string }) => m.controlId).sort()).toEqual([`AR-1-${RUN}`, `AR-2-${RUN}`, `AR-3-${RUN}`]);
    const rejected = await (await get(`/hl7/messages?controlId=AR-2-${RUN}`)).json();
    expect(rejected.messages[0]).toMatchObject({ outcome: 'rejected', error: { text: expect.any(String) } });
  });

  it('replay decrypts the archived message and applies it', async () => {
    const { messages } = await (await get(`/hl7/messages?controlId=AR-3-${RUN}`)).json();
    const replay = await fetch(`${server.origin}/hl7/messages/${messages[0].id}/$replay`, { method: 'POST', headers: authHeaders(server.fhirUrl) });
    expect(await replay.json()).toMatchObject({ ack: 'AA', message: { outcome: 'applied', attempts: 2 } });
    expect(markersOnDisk(archiveDir(), ALL)).toEqual([]);
  });

  it('no log line holds a marker', () => {
    expect(server.logs.length).toBeGreaterThan(5);
    expect(markersInLogs()).toEqual([]);
  });

  it('after rotate-keys --new-key the archive holds only the new kid, and still reads after a restart', async () => {
    const before = server.app.crypto.sealer.currentKid();
    const result = await runCli('rotate-keys', ['--new-key'], { DATA_DIR: server.dataDir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/hl7v2-archive: \d+ record\(s\) re-encrypted/);
    const set = JSON.parse(readFileSync(path.join(server.dataDir, 'crypto', 'keys.json'), 'utf8')) as JwkSet;
    const after = String(set.keys.find((k) => k.alg === 'dir' || k.alg === 'A256KW')!.kid);
    expect(after).not.toBe(before);
    expect([...jweKidsOnDisk(archiveDir()).keys()]).toEqual([after]);
    expect(markersOnDisk(archiveDir(), ALL)).toEqual([]);
    const { messages } = await (await get(`/hl7/messages?controlId=AR-1-${RUN}`)).json();
    expect((await (await get(`/hl7/messages/${messages[0].id}`)).json()).raw).toContain(SSN);

    server = await server.restart();
    const again = await (await get(`/hl7/messages?controlId=AR-2-${RUN}`)).json();
    expect(again.messages[0]).toMatchObject({ outcome: 'rejected', error: { text: expect.any(String) } });
    expect((await (await get(`/hl7/messages/${again.messages[0].id}`)).json()).raw).toContain(SSN);
    expect(markersOnDisk(server.dataDir, ENCRYPTED_EVERYWHERE)).toEqual([]);
    expect(markersInLogs()).toEqual([]);
  }, 120_000);
});
