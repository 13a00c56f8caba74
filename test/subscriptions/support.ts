import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Subscription } from '@medplum/fhirtypes';
import { afterAll, beforeAll } from 'vitest';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';

/** One call the receiver got. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  json?: any;
  /** When it arrived (epoch ms). */
  at: number;
  /** The status the receiver answered. */
  answered: number;
}

/** A real rest-hook endpoint on 127.0.0.1: records every call and answers with `status` (changeable). */
export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** What the receiver answers from now on. */
  status: number;
  /** Calls whose url starts with `path`. */
  at(path: string): Received[];
  /** Resolves once `count` calls matched `predicate` (10 s at most). */
  waitFor(predicate: (r: Received) => boolean, count?: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const receiver = { status: 200 } as Receiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, json, at: Date.now(), answered: receiver.status });
      res.statusCode = receiver.status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    received,
    at: (path: string) => received.filter((r) => r.url.startsWith(path)),
    async waitFor(predicate: (r: Received) => boolean, count = 1, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hits = received.filter(predicate);
        if (hits.length >= count) return hits;
        if (Date.now() > deadline) throw new Error(`receiver: ${hits.length} of ${count} expected calls after ${timeoutMs} ms; got ${JSON.stringify(received.map((r) => `${r.method} ${r.url}`))}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** Settings for fast tests: endpoints on loopback, retries every 50 ms doubling to 400 ms, error after 2 failures, off after 8. */
export const SUBSCRIPTION_ENV = {
  SUBSCRIPTION_ENDPOINTS: 'http://127.0.0.1:*',
  SUBSCRIPTION_RETRY_BASE_MS: '50',
  SUBSCRIPTION_RETRY_MAX_MS: '400',
  SUBSCRIPTION_ERROR_AFTER: '2',
  SUBSCRIPTION_OFF_AFTER: '8',
  SUBSCRIPTION_TIMEOUT_MS: '2000',
};

/** A rest-hook Subscription; `payload` absent for R4's ping, `content` for the backport payload-content extension. */
export function restHook(criteria: string, endpoint: string, options: { payload?: string; content?: string; header?: string[]; status?: Subscription['status'] } = {}): Subscription {
  return {
    resourceType: 'Subscription',
    status: options.status ?? 'requested',
    reason: 'test',
    criteria,
    channel: {
      type: 'rest-hook',
      endpoint,
      ...(options.payload ? { payload: options.payload } : {}),
      ...(options.content ? { _payload: { extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content', valueCode: options.content }] } } : {}),
      ...(options.header ? { header: options.header } : {}),
    } as Subscription['channel'],
  };
}

/** The focus references of an id-only notification Bundle. */
export function focusOf(bundle: any): string[] {
  const status = bundle?.entry?.[0]?.resource;
  return (status?.parameter ?? []).filter((p: any) => p.name === 'notification-event').map((p: any) => p.part.find((x: any) => x.name === 'focus')?.valueReference?.reference);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a test waits for the delivery worker (generous: the whole suite runs on a busy machine). */
export const POLL = { timeout: 10_000, interval: 50 };

/** A test file's rest-hook receiver, a server with SUBSCRIPTION_ENV, and a full-access FHIR client on it. */
export interface SubscriptionServer {
  readonly receiver: Receiver;
  readonly server: TestServer;
  readonly root: FhirClient;
}

/**
 * Registers beforeAll/afterAll hooks starting the receiver and the server (then `setup`, e.g. seeding
 * with `root`) once for the file; read through getters, like `useMllpServer()` in test/hl7v2/support.ts.
 */
export function useSubscriptionServer(setup?: (started: SubscriptionServer) => Promise<void>): SubscriptionServer {
  let state: SubscriptionServer | undefined;
  beforeAll(async () => {
    const receiver = await startReceiver();
    const server = await startServer(SUBSCRIPTION_ENV);
    state = { receiver, server, root: fhirClient(server.fhirUrl) };
    await setup?.(state);
  });
  afterAll(async () => {
    await state?.server.destroy();
    await state?.receiver.close();
  });
  const current = () => {
    if (!state) throw new Error('no subscription server outside the tests');
    return state;
  };
  return {
    get receiver() {
      return current().receiver;
    },
    get server() {
      return current().server;
    },
    get root() {
      return current().root;
    },
  };
}
