import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { ADT, ackCode, rawConnection } from './support.js';

/**
 * Issue 19, items 1 and 2, through a real MLLP socket: every complete frame is answered, whatever
 * its segment terminators or MSH-15/16; an oversized frame gets an AR before the close; a reused
 * control id with different content is never acknowledged and dropped.
 */
let server: TestServer;
let fhir: FhirClient;
let port: number;
beforeAll(async () => {
  server = await startServer({ HL7_MAX_MESSAGE_BYTES: '4096' });
  fhir = fhirClient(server.fhirUrl);
  port = server.app.hl7.port()!;
});
afterAll(() => server.destroy());

const patientsWith = async (mrn: string): Promise<any[]> => (await fhir.get(`Patient?identifier=${encodeURIComponent(mrn)}`)).body.entry?.map((e: any) => e.resource) ?? [];

async function exchange(message: string | Buffer): Promise<string | undefined> {
  const conn = await rawConnection(port);
  conn.send(message);
  const ack = await conn.frame(1, 5000);
  conn.end();
  return ack;
}

describe('an ACK for every complete frame', () => {
  it.each([
    ['CR', '\r'],
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('%s segment terminators: applied, AA', async (name, end) => {
    const ack = await exchange(ADT(`SEP-${name}`, `MRN-SEP-${name}`, `Sep${name}`).replace(/\r/g, end));
    expect(ackCode(ack)).toMatchObject({ code: 'AA', controlId: `SEP-${name}` });
    const [patient] = await patientsWith(`MRN-SEP-${name}`);
    expect(patient).toMatchObject({ name: [{ family: `Sep${name}`, given: ['Ada'] }], birthDate: '1980-01-01', gender: 'female' });
  });

  it.each([
    ['invalid MSH-15', 'XX', ''],
    ['invalid MSH-16', '', 'maybe'],
    ['both invalid', '1', '2'],
    ['MSH-15 valid, MSH-16 invalid', 'AL', 'YY'],
  ])('%s: answered in original mode (one AA)', async (name, accept, application) => {
    const id = `MODE-${name.replace(/\W+/g, '-')}`;
    const conn = await rawConnection(port);
    conn.send(ADT(id, `MRN-${id}`, 'Mode').replace('|2.5.1\r', `|2.5.1|||${accept}|${application}\r`));
    expect(ackCode(await conn.frame(1, 5000))).toMatchObject({ code: 'AA', controlId: id });
    // No second (enhanced-mode) acknowledgement follows.
    expect(await conn.frame(2, 500)).toBeUndefined();
    conn.end();
  });

  it('valid enhanced mode still gets a commit ACK then an application ACK', async () => {
    const conn = await rawConnection(port);
    conn.send(ADT('MODE-AL', 'MRN-MODE-AL', 'Mode').replace('|2.5.1\r', '|2.5.1|||AL|AL\r'));
    expect([ackCode(await conn.frame(1)).code, ackCode(await conn.frame(2)).code]).toEqual(['CA', 'AA']);
    conn.end();
  });

  it.each([
    ['an empty frame', '', '100'],
    ['only "MSH"', 'MSH', '100'],
    ['an MSH without fields', 'MSH|^~\\&\r', '203'],
    ['LF-terminated garbage after MSH', 'MSH|^~\\&|A|F|B|G|20240101||ADT^A01|G-1|P|2.5\n\n\x7f\n', '102'],
  ])('%s: AR with an ERR segment', async (_name, message, hl7Error) => {
    expect(ackCode(await exchange(message))).toMatchObject({ code: 'AR', error: hl7Error });
  });

  it('an oversized frame: the messages before it are answered, then an AR naming it, then the close', async () => {
    const conn = await rawConnection(port);
    conn.send(ADT('BIG-0', 'MRN-BIG-0', 'Before'));
    const big = ADT('BIG-1', 'MRN-BIG-1', 'Big').replace('PV1|1|I', `NTE|1||${'x'.repeat(8000)}\rPV1|1|I`);
    conn.send(big);
    expect(ackCode(await conn.frame(1))).toMatchObject({ code: 'AA', controlId: 'BIG-0' });
    const ar = await conn.frame(2);
    expect(ackCode(ar)).toMatchObject({ code: 'AR', controlId: 'BIG-1', error: '207' });
    expect(ar).toMatch(/larger than 4096 bytes/);
    expect(await conn.closedWithin(3000)).toBe(true);
    expect(await patientsWith('MRN-BIG-1')).toHaveLength(0);
    const { records } = await server.app.hl7.archive.list({ controlId: 'BIG-1' });
    expect(records).toMatchObject([{ outcome: 'rejected', ack: 'AR', error: { code: '207' } }]);
  });
});

describe('a reused control id (MSH-10) with different content', () => {
  it('is applied as a new message by default, and each message stays deduplicated on its own', async () => {
    const conn = await rawConnection(port);
    conn.send(ADT('REUSE-1', 'MRN-REUSE-A', 'Alpha'));
    expect(ackCode(await conn.frame(1)).code).toBe('AA');
    // The sender reset its counter: same control id, another patient.
    conn.send(ADT('REUSE-1', 'MRN-REUSE-B', 'Beta'));
    expect(ackCode(await conn.frame(2))).toMatchObject({ code: 'AA', controlId: 'REUSE-1' });
    // A redelivery of the first one is still a duplicate, not applied a second time.
    conn.send(ADT('REUSE-1', 'MRN-REUSE-A', 'Alpha'));
    expect(ackCode(await conn.frame(3)).code).toBe('AA');
    conn.end();
    const [a] = await patientsWith('MRN-REUSE-A');
    const [b] = await patientsWith('MRN-REUSE-B');
    expect(a).toMatchObject({ name: [{ family: 'Alpha' }], meta: { versionId: '1' } });
    expect(b).toMatchObject({ name: [{ family: 'Beta' }], meta: { versionId: '1' } });
    expect(a.meta.source).not.toBe(b.meta.source);
    const records = await server.app.hl7.archive.allByDedupeKey('TESTAPP|TESTFAC|REUSE-1');
    expect(records.map((r) => [r.outcome, r.duplicates])).toEqual([['applied', 0], ['applied', 1]]);
    expect(server.logs.some((l) => l.includes('control id reused with different content'))).toBe(true);
  });

  it('from a sender that reuses one control id for many messages: each applied, each resend found by its digest without reading earlier messages', async () => {
    // Counts the archive's reads of raw texts (the scan that made each message cost O(earlier messages)), and reads on.
    const archive = server.app.hl7.archive;
    const raw = archive.raw.bind(archive);
    let reads = 0;
    archive.raw = async (id: string) => (reads++, raw(id));
    try {
      const conn = await rawConnection(port);
      const n = 30;
      for (let i = 0; i < n; i++) {
        conn.send(ADT('MANY-1', `MRN-MANY-${i}`, `Many${i}`));
        expect(ackCode(await conn.frame(i + 1, 20_000)).code).toBe('AA');
      }
      // Resends of the first, a middle and the last one, MSH-7 restamped: duplicates, acknowledged as before.
      const resent = [0, 14, n - 1];
      for (const [k, i] of resent.entries()) {
        conn.send(ADT('MANY-1', `MRN-MANY-${i}`, `Many${i}`).replace('20240101120000', '20250202020202'));
        expect(ackCode(await conn.frame(n + k + 1, 20_000)).code).toBe('AA');
      }
      conn.end();
      expect(reads).toBe(0);
      const records = await archive.allByDedupeKey('TESTAPP|TESTFAC|MANY-1');
      expect(records).toHaveLength(n);
      expect(records.every((r) => r.outcome === 'applied')).toBe(true);
      // Newest first: record n - 1 - i is message i.
      expect(resent.map((i) => records[n - 1 - i].duplicates)).toEqual([1, 1, 1]);
      expect(records.reduce((sum, r) => sum + r.duplicates, 0)).toBe(resent.length);
      for (const i of resent) expect((await patientsWith(`MRN-MANY-${i}`)).map((p) => p.meta.versionId)).toEqual(['1']);
    } finally {
      archive.raw = raw;
    }
  });

  it('is answered AE 205 with HL7_CONTROL_ID_REUSE=reject, archived, and not applied', async () => {
    const strict = await startServer({ HL7_CONTROL_ID_REUSE: 'reject' });
    try {
      const conn = await rawConnection(strict.app.hl7.port()!);
      conn.send(ADT('STRICT-1', 'MRN-STRICT-A', 'Alpha'));
      expect(ackCode(await conn.frame(1)).code).toBe('AA');
      conn.send(ADT('STRICT-1', 'MRN-STRICT-B', 'Beta'));
      const ae = await conn.frame(2);
      expect(ackCode(ae)).toMatchObject({ code: 'AE', controlId: 'STRICT-1', error: '205' });
      expect(ae).toMatch(/was used before by this sender for a different message/);
      conn.end();
      const other = fhirClient(strict.fhirUrl);
      expect((await other.get('Patient?identifier=MRN-STRICT-B')).body.entry ?? []).toHaveLength(0);
      expect((await strict.app.hl7.archive.allByDedupeKey('TESTAPP|TESTFAC|STRICT-1')).map((r) => r.outcome)).toEqual(['error', 'applied']);
    } finally {
      await strict.destroy();
    }
  });
});
