import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { dropDatabase, MONGODB_URI } from './mongo.js';
import { embeddedIssuer, mintToken, registerDefaultToken, type TestIssuer, type TokenOptions } from './tokens.js';

export const ROOT_DIR = path.resolve(import.meta.dirname, '../..');
export { CORPUS_DIR } from './corpus-dir.js';

/** A real FhirGate listening on a free port, with its own data folder and captured JSON logs. */
export interface TestServer {
  app: App;
  /** e.g. http://127.0.0.1:40123/fhir */
  fhirUrl: string;
  origin: string;
  dataDir: string;
  /** Every log line written so far, raw. */
  logs: string[];
  /** The embedded authorization server's keys (absent when it is switched off). */
  issuer?: TestIssuer;
  /** Mints a real access token signed by the embedded server's key. */
  token(options?: TokenOptions): Promise<string>;
  /** Stops the server; the data folder is kept until `destroy`. */
  stop(): Promise<void>;
  /** Starts a new server on the same data folder (restart). */
  restart(): Promise<TestServer>;
  destroy(): Promise<void>;
}

/**
 * Starts the real app (same composition root as `npm start`) on port 0.
 * @param options.clock the app's clock (what it stamps records and AuditEvents with); default the real time
 */
export async function startServer(env: Record<string, string> = {}, dataDir?: string, options: { clock?: () => Date } = {}): Promise<TestServer> {
  const dir = dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'fhirgate-test-')));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const { app, config } = await listening(env, dir, sink, options.clock);
  // config.port: a test may pin PORT (and PUBLIC_URL) to restart on the same origin.
  const origin = `http://127.0.0.1:${config.port}`;
  // fhirClient(fhirUrl) carries a full-access token of the embedded server unless told otherwise.
  const issuer = config.auth.embedded ? { ...embeddedIssuer(dir, origin), issuer: config.auth.embeddedIssuer, audience: config.fhirBaseUrl } : undefined;
  if (issuer) await registerDefaultToken(`${origin}/fhir`, issuer);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) await app.close();
    stopped = true;
  };
  return {
    app,
    fhirUrl: `${origin}/fhir`,
    origin,
    dataDir: dir,
    logs,
    issuer,
    token: (options) => {
      if (!issuer) throw new Error('the embedded authorization server is off; mint with the test IdP instead');
      return mintToken(issuer, options);
    },
    stop,
    restart: async () => {
      await stop();
      return startServer(env, dir, options);
    },
    destroy: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
      if (config.mongodbUri && testStoreEnv(dir).MONGODB_DB === config.mongodb.db) await dropDatabase(config.mongodb.db);
    },
  };
}

/**
 * The app listening on a free port. PUBLIC_URL names the port, so it is picked before the app is
 * built; another process may take it in between (seen as EADDRINUSE under the parallel suite): then
 * the app is closed and built again on another port. A port the test pins is not retried.
 */
async function listening(env: Record<string, string>, dir: string, sink: Writable, clock?: () => Date): Promise<{ app: App; config: ReturnType<typeof loadConfig> }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = loadConfig({ PORT: String(port), DATA_DIR: dir, LOG_LEVEL: 'info', PUBLIC_URL: `http://127.0.0.1:${port}`, HL7_MLLP_PORT: '0', ...testStoreEnv(dir), ...env }, ROOT_DIR);
    const app = await createApp(config, createLogger(config.logLevel, sink), clock);
    try {
      await app.listen();
      return { app, config };
    } catch (err) {
      await app.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || env.PORT !== undefined || attempt >= 5) throw err;
    }
  }
}

/** A port free right now on loopback. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * With FHIRGATE_TEST_STORE=mongodb and MONGODB_URI set, the HTTP suites run against MongoDB:
 * each server gets a database named after its data folder (so a restart finds its data), dropped
 * by `destroy`. Tests that pass MONGODB_URI themselves are left alone.
 */
function testStoreEnv(dir: string): Record<string, string> {
  if (process.env.FHIRGATE_TEST_STORE !== 'mongodb' || !MONGODB_URI) return {};
  return { MONGODB_URI, MONGODB_DB: `fhirgate_test_${path.basename(dir).replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 63) };
}
