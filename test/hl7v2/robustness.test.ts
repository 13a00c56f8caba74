import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';
import { ADT, ackCode, rawConnection } from './support.js';

let server: TestServer;
let port: number;
beforeAll(async () => {
  server = await startServer({ HL7_MAX_MESSAGE_BYTES: '4096', HL7_MLLP_IDLE_TIMEOUT_MS: '1500', HL7_MLLP_FRAME_TIMEOUT_MS: '700' });
  port = server.app.hl7.port()!;
});
afterAll(() => server.destroy());

const logged = (reason: string): boolean => server.logs.some((l) => l.includes(`"reason":"${reason}"`));

/** After each case the listener still serves a well-formed message on a fresh connection. */
async function stillServes(tag: string): Promise<void> {
  const conn = await rawConnection(port);
  conn.send(ADT(`OK-${tag}`, `MRN-${tag}`, 'Fine'));
  expect(ackCode(await conn.frame(1)).code).toBe('AA');
  conn.end();
}

describe('NAKs for messages that arrive whole but are wrong', () => {
  it.each([
    ['missing MSH', 'PID|1||X^^^F^MR||Doe^J\r', '100'],
    ['wrong delimiters (duplicated encoding characters)', 'MSH|^^\\&|A|F|B|G|20240101||ADT^A01|BAD-1|P|2.5\rPID|1\r', '100'],
    ['malformed segment id', 'MSH|^~\\&|A|F|B|G|20240101||ADT^A01|BAD-2|P|2.5\rP!D|1\r', '100'],
    ['unsupported message type', 'MSH|^~\\&|A|F|B|G|20240101||ORU^R01|BAD-3|P|2.5\rPID|1\r', '200'],
    ['unsupported event', 'MSH|^~\\&|A|F|B|G|20240101||ADT^A99|BAD-4|P|2.5\rPID|1\r', '201'],
    ['unsupported version', 'MSH|^~\\&|A|F|B|G|20240101||ADT^A01|BAD-5|P|2.2\rPID|1\r', '203'],
    ['unsupported processing id', 'MSH|^~\\&|A|F|B|G|20240101||ADT^A01|BAD-6|D|2.5\rPID|1\r', '202'],
    ['invalid UTF-8 bytes', Buffer.concat([Buffer.from('MSH|^~\\&|A|F|B|G|20240101||ADT^A01|BAD-7|P|2.5\rPID|1||X^^^F^MR||D'), Buffer.from([0xff, 0xfe]), Buffer.from('\r')]), '102'],
  ])('%s: AR with an ERR segment', async (_name, message, hl7Error) => {
    const conn = await rawConnection(port);
    conn.send(message);
    const ack = ackCode(await conn.frame(1));
    expect(ack.code).toBe('AR');
    expect(ack.error).toBe(hl7Error);
    conn.end();
  });

  it('a message that parses but cannot be applied: AE with location and code', async () => {
    const conn = await rawConnection(port);
    conn.send('MSH|^~\\&|A|F|B|G|20240101||ADT^A01|AE-1|P|2.5\rEVN|A01\rPID|1||||Doe^J\r');
    const ack = await conn.frame(1);
    expect(ackCode(ack)).toMatchObject({ code: 'AE', controlId: 'AE-1', error: '101' });
    expect(ack).toMatch(/\rERR\|\|PID\^1\^3\|101\^Required field missing\^HL70357\|E\|/);
    conn.end();
  });

  it('honours non-default encoding characters and answers in them', async () => {
    const conn = await rawConnection(port);
    conn.send('MSH$%*#@$A$F$B$G$20240101$$ADT%A01$ENC-1$P$2.5\rPID$1$$MRN-ENC%%%F%MR$$Smith#F#Jones%Ann\r');
    const ack = (await conn.frame(1))!;
    expect(ack.startsWith('MSH$%*#@$')).toBe(true);
    expect(ack).toContain('MSA$AA$ENC-1');
    conn.end();
    const patient = await server.app.hl7.archive.byDedupeKey('A|F|ENC-1');
    expect(patient?.outcome).toBe('applied');
  });
});

describe('connections closed with a logged reason, the listener unaffected', () => {
  it('closes on bytes outside a frame', async () => {
    const conn = await rawConnection(port);
    conn.write('hello\r');
    expect(await conn.closedWithin(2000)).toBe(true);
    expect(logged('garbage')).toBe(true);
    await stillServes('garbage');
  });

  it('closes on an unframed message (missing VT)', async () => {
    const conn = await rawConnection(port);
    conn.write(ADT('RAW-1', 'MRN-RAW', 'Raw'));
    expect(await conn.closedWithin(2000)).toBe(true);
    expect(logged('missing-start')).toBe(true);
  });

  it('closes on an oversized frame, before reading it whole, after an AR', async () => {
    const conn = await rawConnection(port);
    conn.write(Buffer.concat([Buffer.from([0x0b]), Buffer.alloc(8192, 'A')]));
    expect(await conn.closedWithin(2000)).toBe(true);
    expect(ackCode(conn.frames[0]).code).toBe('AR');
    expect(logged('oversized')).toBe(true);
    await stillServes('oversized');
  });

  it('closes a truncated or slow-drip frame after the frame timeout', async () => {
    const conn = await rawConnection(port);
    conn.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from('MSH|^~\\&|A|F')]));
    const drip = setInterval(() => conn.write('x'), 200);
    expect(await conn.closedWithin(3000)).toBe(true);
    clearInterval(drip);
    expect(logged('frame-timeout')).toBe(true);
  });

  it('closes an idle connection', async () => {
    const conn = await rawConnection(port);
    expect(await conn.closedWithin(4000)).toBe(true);
    expect(logged('idle-timeout')).toBe(true);
  });

  it('keeps other connections working while one misbehaves', async () => {
    const good = await rawConnection(port);
    const bad = await rawConnection(port);
    bad.write('\x00\x01\x02');
    good.send(ADT('ISO-1', 'MRN-ISO', 'Isolated'));
    expect(ackCode(await good.frame(1)).code).toBe('AA');
    expect(await bad.closedWithin(2000)).toBe(true);
    good.end();
  });
});

describe('HL7_MLLP_ALLOW', () => {
  it('refuses senders outside the allow-list', async () => {
    const other = await startServer({ HL7_MLLP_ALLOW: '10.0.0.0/8' });
    try {
      const conn = await rawConnection(other.app.hl7.port()!);
      conn.send(ADT('DENY-1', 'MRN-DENY', 'Denied'));
      expect(await conn.closedWithin(2000)).toBe(true);
      expect(conn.frames).toHaveLength(0);
      expect(other.logs.some((l) => l.includes('"reason":"not-allowed"'))).toBe(true);
    } finally {
      await other.destroy();
    }
  });
});
