import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { CORPUS_DIR, startServer, type TestServer } from '../support/server.js';

export const HL7_CORPUS = path.join(CORPUS_DIR, 'hl7v2');

/** Every corpus message: folder (MSH-9), source, file name, bytes. Read at test time, never copied. */
export function corpusMessages(): Array<{ folder: string; source: string; file: string; path: string; bytes: Buffer }> {
  return readdirSync(HL7_CORPUS).sort().flatMap((folder) =>
    readdirSync(path.join(HL7_CORPUS, folder)).sort().flatMap((source) =>
      readdirSync(path.join(HL7_CORPUS, folder, source))
        .filter((f) => f.endsWith('.hl7'))
        .sort()
        .map((file) => {
          const p = path.join(HL7_CORPUS, folder, source, file);
          return { folder, source, file, path: p, bytes: readFileSync(p) };
        }),
    ),
  );
}

/** A deliberately naive reader of one value (segment, field, component, repetition), independent of the adapter's parser. */
export function v2(raw: string, segment: string, field: number, component = 1, rep = 0, occurrence = 0): string | undefined {
  const seg = raw.split('\r').filter((s) => s.startsWith(`${segment}|`))[occurrence];
  if (!seg) return undefined;
  const fields = seg.split('|');
  const value = fields[segment === 'MSH' ? field - 1 : field]?.split('~')[rep]?.split('^')[component - 1]?.split('&')[0];
  return value || undefined;
}

/** Sets MSH-10 (a fresh control id) in a message, for the corpus samples without one. */
export function withControlId(raw: string, controlId: string): string {
  const [msh, ...rest] = raw.split('\r');
  const f = msh.split('|');
  while (f.length < 12) f.push('');
  f[9] = controlId;
  return [f.join('|'), ...rest].join('\r');
}

export const frame = (message: string | Buffer): Buffer => Buffer.concat([Buffer.from([0x0b]), Buffer.from(message), Buffer.from([0x1c, 0x0d])]);

/** A raw MLLP connection: write bytes, read whole frames, see whether the server closed it. */
export async function rawConnection(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffer = Buffer.alloc(0);
  const frames: string[] = [];
  const waiters: Array<() => void> = [];
  let closed = false;
  socket.on('data', (d) => {
    buffer = Buffer.concat([buffer, d]);
    for (let end = buffer.indexOf(0x1c); end >= 0; end = buffer.indexOf(0x1c)) {
      frames.push(buffer.subarray(buffer.indexOf(0x0b) + 1, end).toString('utf8'));
      buffer = buffer.subarray(end + 2);
    }
    waiters.splice(0).forEach((w) => w());
  });
  socket.on('close', () => {
    closed = true;
    waiters.splice(0).forEach((w) => w());
  });
  socket.on('error', () => undefined);
  return {
    socket,
    write: (bytes: Buffer | string) => socket.write(bytes),
    send: (message: string | Buffer) => socket.write(frame(message)),
    /** Waits for the n-th frame (1-based) or the close. */
    async frame(n = frames.length + 1, timeoutMs = 10_000): Promise<string | undefined> {
      const deadline = Date.now() + timeoutMs;
      while (frames.length < n && !closed && Date.now() < deadline) await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 50)));
      return frames[n - 1];
    },
    async closedWithin(ms: number): Promise<boolean> {
      const deadline = Date.now() + ms;
      while (!closed && Date.now() < deadline) await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 50)));
      return closed;
    },
    frames,
    end: () => socket.destroy(),
  };
}

/** MSA-1 and ERR-3.1 of an ACK. */
export function ackCode(ack: string | undefined): { code?: string; error?: string; controlId?: string } {
  return { code: ack && v2(ack, 'MSA', 1), controlId: ack && v2(ack, 'MSA', 2), error: ack && (v2(ack, 'ERR', 3) ?? v2(ack, 'ERR', 1, 4)) };
}

export const ADT = (controlId: string, mrn: string, family: string, event = 'A01'): string =>
  [`MSH|^~\\&|TESTAPP|TESTFAC|FHIRGATE|HOSP|20240101120000||ADT^${event}^ADT_A01|${controlId}|P|2.5.1`, `EVN|${event}|20240101120000`, `PID|1||${mrn}^^^TESTFAC^MR||${family}^Ada||19800101|F`, 'PV1|1|I'].join('\r') + '\r';

/** A test file's server, a FHIR client on it, and its MLLP listener's port. */
export interface Hl7Server {
  readonly server: TestServer;
  readonly fhir: FhirClient;
  readonly port: number;
}

/** Registers beforeAll/afterAll hooks starting one server for the file; read through getters. */
export function useHl7Server(): Hl7Server {
  let state: { server: TestServer; fhir: FhirClient } | undefined;
  beforeAll(async () => {
    const server = await startServer();
    state = { server, fhir: fhirClient(server.fhirUrl) };
  });
  afterAll(() => state?.server.destroy());
  const current = () => {
    if (!state) throw new Error('no HL7 v2 server outside the tests');
    return state;
  };
  return {
    get server() {
      return current().server;
    },
    get fhir() {
      return current().fhir;
    },
    get port() {
      return current().server.app.hl7.port()!;
    },
  };
}

/** A test file's server, a FHIR client on it, and one raw MLLP connection to its listener. */
export interface MllpServer extends Hl7Server {
  readonly conn: Awaited<ReturnType<typeof rawConnection>>;
  /** Sends one message on the connection and resolves with the next frame (its ACK). */
  send(message: string): Promise<string | undefined>;
}

/** `useHl7Server()` plus one raw MLLP connection, opened after the server starts and closed before it stops. */
export function useMllpServer(): MllpServer {
  const hl7 = useHl7Server();
  let conn: Awaited<ReturnType<typeof rawConnection>> | undefined;
  beforeAll(async () => {
    conn = await rawConnection(hl7.port);
  });
  afterAll(() => {
    conn?.end();
  });
  const current = () => {
    if (!conn) throw new Error('no MLLP server outside the tests');
    return conn;
  };
  return {
    get server() {
      return hl7.server;
    },
    get fhir() {
      return hl7.fhir;
    },
    get port() {
      return hl7.port;
    },
    get conn() {
      return current();
    },
    async send(message) {
      current().send(message);
      return current().frame();
    },
  };
}
