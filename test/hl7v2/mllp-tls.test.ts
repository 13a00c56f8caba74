import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { ROOT_DIR, startServer, type TestServer } from '../support/server.js';
import { ADT, ackCode, frame } from './support.js';

// Issue 7: MLLP over TLS with client certificates. A throwaway PKI made with the openssl CLI at test time.
const dir = mkdtempSync(path.join(os.tmpdir(), 'fhirgate-mllp-tls-'));
const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`);
}
function makeLeaf(name: string, cn: string, ca: string, ext?: string): void {
  openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}/O=Secret Org/emailAddress=nobody@example.org`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  if (ext) writeFileSync(file(`${name}.ext`), ext);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '1', '-out', `${name}.pem`, ...(ext ? ['-extfile', `${name}.ext`] : []));
}

let server: TestServer;
let port: number;
beforeAll(async () => {
  makeCa('ca');
  makeCa('rogue-ca');
  makeLeaf('server', 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  makeLeaf('lab-a', 'lab-a', 'ca');
  makeLeaf('lab-b', 'lab-b', 'ca');
  makeLeaf('rogue', 'lab-a', 'rogue-ca');
  server = await startServer({
    HL7_MLLP_TLS_CERT: file('server.pem'),
    HL7_MLLP_TLS_KEY: file('server.key'),
    HL7_MLLP_TLS_CA: file('ca.pem'),
    HL7_MLLP_TLS_ALLOWED_SUBJECTS: 'lab-a, lab-c',
  });
  port = server.app.hl7.port()!;
}, 60_000);
afterAll(async () => {
  await server?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends one framed message over TLS; resolves with the first ACK, or undefined when the server closed or the handshake failed. */
async function sendOverTls(message: string, client?: string): Promise<{ ack?: string; error?: string }> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    ca: readFileSync(file('ca.pem')),
    ...(client ? { cert: readFileSync(file(`${client}.pem`)), key: readFileSync(file(`${client}.key`)) } : {}),
  });
  return new Promise((resolve) => {
    let buffer = '';
    let error: string | undefined;
    const timer = setTimeout(() => (socket.destroy(), resolve({ error: error ?? 'timeout' })), 5000);
    const done = (result: { ack?: string; error?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    socket.on('secureConnect', () => socket.write(frame(message)));
    socket.on('data', (d) => {
      buffer += d.toString('utf8');
      const end = buffer.indexOf('\x1c');
      if (end >= 0) done({ ack: buffer.slice(buffer.indexOf('\x0b') + 1, end) });
    });
    socket.on('error', (err) => (error = err.message));
    socket.on('close', () => done({ error: error ?? 'closed' }));
  });
}

describe('MLLP over TLS with client certificates (issue 7)', () => {
  it('acknowledges AA to a sender with a certificate of the configured CA and an allowed CN, logging only its CN', async () => {
    const { ack } = await sendOverTls(ADT('TLS-OK-1', 'MRN-TLS-OK', 'Hopper'), 'lab-a');
    expect(ackCode(ack)).toMatchObject({ code: 'AA', controlId: 'TLS-OK-1' });
    const record = await server.app.hl7.archive.byDedupeKey('TESTAPP|TESTFAC|TLS-OK-1');
    expect(record?.outcome).toBe('applied');
    expect(record?.sender.address).toMatch(/^mllps:\/\/lab-a@/);
    const lines = server.logs.filter((l) => l.includes('"subject":"lab-a"'));
    expect(lines.length).toBeGreaterThan(0);
    expect(server.logs.join('\n')).not.toMatch(/Secret Org|nobody@example\.org/);
  });

  it.each([
    ['without a client certificate', undefined, 'TLS-NOCERT'],
    ['with a certificate from another CA', 'rogue', 'TLS-ROGUE'],
    ['with a CN not in HL7_MLLP_TLS_ALLOWED_SUBJECTS', 'lab-b', 'TLS-CN'],
  ])('refuses a sender %s and stores nothing', async (_label, client, controlId) => {
    const result = await sendOverTls(ADT(controlId, `MRN-${controlId}`, 'Refused'), client);
    expect(result.ack).toBeUndefined();
    expect(result.error).toBeDefined();
    expect(await server.app.hl7.archive.byDedupeKey(`TESTAPP|TESTFAC|${controlId}`)).toBeUndefined();
  });

  it('logs why a sender was refused', () => {
    const logs = server.logs.join('\n');
    expect(logs).toContain('"reason":"tls-handshake"');
    expect(logs).toContain('"reason":"subject-not-allowed"');
  });

  it('stops the start with a ConfigError when a PEM file cannot be read, or only one of cert/key is set', () => {
    const base = { DATA_DIR: dir, HL7_MLLP_TLS_KEY: file('server.key') };
    expect(() => loadConfig({ ...base, HL7_MLLP_TLS_CERT: file('missing.pem') }, ROOT_DIR)).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, HL7_MLLP_TLS_CERT: file('missing.pem') }, ROOT_DIR)).toThrow(/HL7_MLLP_TLS_CERT: cannot read/);
    expect(() => loadConfig({ DATA_DIR: dir, HL7_MLLP_TLS_CERT: file('server.pem') }, ROOT_DIR)).toThrow(/must be set together/);
    expect(() => loadConfig({ ...base, HL7_MLLP_TLS_CERT: file('server.pem'), HL7_MLLP_TLS_CA: file('nope.pem') }, ROOT_DIR)).toThrow(/HL7_MLLP_TLS_CA: cannot read/);
  });
});

describe('the address allow-list over TLS', () => {
  it('refuses an address not in HL7_MLLP_ALLOW before the TLS handshake, even with a valid certificate', async () => {
    const other = await startServer({
      HL7_MLLP_ALLOW: '10.255.255.1',
      HL7_MLLP_TLS_CERT: file('server.pem'),
      HL7_MLLP_TLS_KEY: file('server.key'),
      HL7_MLLP_TLS_CA: file('ca.pem'),
    });
    try {
      const mainPort = port;
      port = other.app.hl7.port()!;
      const result = await sendOverTls(ADT('TLS-ADDR', 'MRN-TLS-ADDR', 'Refused'), 'lab-a').finally(() => (port = mainPort));
      expect(result.ack).toBeUndefined();
      expect(await other.app.hl7.archive.byDedupeKey('TESTAPP|TESTFAC|TLS-ADDR')).toBeUndefined();
      const logs = other.logs.join('\n');
      expect(logs).toContain('"reason":"not-allowed"');
      expect(logs).not.toContain('mllp client certificate accepted');
    } finally {
      await other.destroy();
    }
  });
});
