import Client, { Message } from 'node-hl7-client';
import { describe, expect, it } from 'vitest';
import { ADT, ackCode, rawConnection, useHl7Server } from './support.js';

const hl7 = useHl7Server();

const patientsWith = async (mrn: string) => (await hl7.fhir.get(`Patient?identifier=${encodeURIComponent(mrn)}`)).body.entry?.map((e: any) => e.resource) ?? [];

describe('MLLP end to end, with a real MLLP client library (node-hl7-client)', () => {
  it('applies an ADT^A01 and answers AA echoing MSH-10', async () => {
    const acks: string[] = [];
    const client = new Client({ host: '127.0.0.1', version: '2.5.1' } as never);
    const got = new Promise<void>((resolve) => {
      const conn = client.createConnection({ port: hl7.port, waitAck: true } as never, async (res: any) => {
        acks.push(res.getMessage().toString());
        resolve();
      });
      void conn.sendMessage(new Message({ text: ADT('E2E-1', 'MRN-E2E', 'Lovelace').replace(/\r$/, '') }));
      setTimeout(() => void conn.close(), 3000);
    });
    await got;
    expect(ackCode(acks[0].replace(/\n/g, '\r'))).toMatchObject({ code: 'AA', controlId: 'E2E-1' });
    const [patient] = await patientsWith('MRN-E2E');
    expect(patient).toMatchObject({ name: [{ family: 'Lovelace', given: ['Ada'] }], birthDate: '1980-01-01', gender: 'female', active: true });
  });
});

describe('exactly once, in order', () => {
  it('acknowledges a redelivered message again without writing twice (MSH-7 restamped, LF terminators)', async () => {
    const conn = await rawConnection(hl7.port);
    conn.send(ADT('DUP-1', 'MRN-DUP', 'First'));
    expect(ackCode(await conn.frame(1)).code).toBe('AA');
    // A resend is the same message: an engine may restamp MSH-7 and end segments differently.
    conn.send(ADT('DUP-1', 'MRN-DUP', 'First').replace('|20240101120000||ADT', '|20240101121500||ADT').replace(/\r/g, '\n'));
    expect(ackCode(await conn.frame(2))).toMatchObject({ code: 'AA', controlId: 'DUP-1' });
    conn.end();
    const [patient] = await patientsWith('MRN-DUP');
    expect(patient.meta.versionId).toBe('1');
    expect(patient.name[0].family).toBe('First');
    expect((await hl7.server.app.hl7.archive.byDedupeKey('TESTAPP|TESTFAC|DUP-1'))?.duplicates).toBe(1);
  });

  it('applies one message sent on 8 connections at once exactly once', async () => {
    const conns = await Promise.all(Array.from({ length: 8 }, () => rawConnection(hl7.port)));
    conns.forEach((c) => c.send(ADT('RACE-1', 'MRN-RACE', 'Racer')));
    const acks = await Promise.all(conns.map((c) => c.frame(1)));
    conns.forEach((c) => c.end());
    expect(acks.map((a) => ackCode(a).code)).toEqual(Array(8).fill('AA'));
    const patients = await patientsWith('MRN-RACE');
    expect(patients).toHaveLength(1);
    expect(patients[0].meta.versionId).toBe('1');
  });

  it('applies the messages of each connection in arrival order, 8 connections concurrently', { timeout: 60_000 }, async () => {
    const conns = await Promise.all(Array.from({ length: 8 }, () => rawConnection(hl7.port)));
    // Each connection sends 10 updates of its own patient back to back, without waiting for ACKs.
    conns.forEach((c, i) => {
      for (let n = 0; n < 10; n++) c.send(ADT(`ORD-${i}-${n}`, `MRN-ORD-${i}`, `Name${n}`, n === 0 ? 'A01' : 'A08'));
    });
    // The last ACK of a connection waits for all 80 messages: more than a frame's default 10 s on a loaded CI machine.
    const acks = await Promise.all(conns.map(async (c) => Promise.all(Array.from({ length: 10 }, (_, n) => c.frame(n + 1, 50_000)))));
    conns.forEach((c) => c.end());
    for (const [i, list] of acks.entries()) {
      expect(list.map((a) => ackCode(a).controlId)).toEqual(Array.from({ length: 10 }, (_, n) => `ORD-${i}-${n}`));
      expect(list.every((a) => ackCode(a).code === 'AA')).toBe(true);
      const [patient] = await patientsWith(`MRN-ORD-${i}`);
      expect(patient.name[0].family).toBe('Name9');
      expect(patient.meta.versionId).toBe('10');
    }
  });
});
