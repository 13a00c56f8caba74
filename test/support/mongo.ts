import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { describe } from 'vitest';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { SERVED_TYPES } from '../../src/fhir/registry.js';
import type { Logger } from '../../src/logger.js';
import { createSearchIndex } from '../../src/search/index/index.js';
import { createMongoStore, indexPlan, type SearchParamSource } from '../../src/store/mongo/index.js';
import type { StorePort } from '../../src/store/port.js';

/**
 * The MongoDB side of the shared suites. No MongoDB runs on the development machines, so these
 * suites run only when MONGODB_URI points at one (a replica set, 7.0+; e.g. `docker compose up
 * mongo`, then `MONGODB_URI='mongodb://localhost:27017/?directConnection=true' npx vitest run`).
 * Each suite works in its own database, dropped afterwards.
 */
export const MONGODB_URI = process.env.MONGODB_URI || undefined;

/** Title of the skipped suites, so a run without MongoDB says what it left out. */
export const MONGO_SKIP_TITLE = 'MongoDB adapter: set MONGODB_URI to run';

/**
 * `describe` when MONGODB_URI is set; otherwise `describe.skip` under a title saying how to run
 * it, plus one warning line in the output.
 */
export function describeMongo(name: string, body: () => void): void {
  if (MONGODB_URI) {
    describe(name, body);
    return;
  }
  console.warn(`[skip] ${name}: ${MONGO_SKIP_TITLE}`);
  describe.skip(`${name} (${MONGO_SKIP_TITLE})`, body);
}

/** A fresh database name for one suite or test. */
export function testDatabase(purpose: string): string {
  return `fhirgate_test_${purpose}_${randomBytes(6).toString('hex')}`.slice(0, 63);
}

const served = Object.keys(SERVED_TYPES);
let registry: SearchParamSource | undefined;

/** The served types' parameters, as the app derives its indexes from them. */
export function servedParams(): SearchParamSource {
  if (!registry) {
    const index = createSearchIndex({ definitions: r4Definitions(), resourceTypes: served });
    registry = { resourceTypes: served, params: (type) => index.params(type) };
  }
  return registry;
}

/** Opens a MongoDB store on `db` and fails loudly when MONGODB_URI is not usable. */
export async function openMongoStore(db: string, options: { logger?: Logger; params?: SearchParamSource } = {}): Promise<StorePort> {
  if (!MONGODB_URI) throw new Error('MONGODB_URI is not set');
  const store = createMongoStore({
    uri: MONGODB_URI,
    db,
    connectTimeoutMs: 5000,
    serverSelectionTimeoutMs: 5000,
    indexes: indexPlan(options.params ?? servedParams()),
    logger: options.logger,
  });
  await store.open();
  if (!(await store.ping())) {
    await store.close();
    throw new Error(`MongoDB at MONGODB_URI is not usable (see the store's log line): a replica set of MongoDB 7.0+ is needed`);
  }
  return store;
}

/** Runs something with a plain driver client (explain, cleanup). */
export async function withClient<T>(work: (client: MongoClient) => Promise<T>): Promise<T> {
  if (!MONGODB_URI) throw new Error('MONGODB_URI is not set');
  const client = new MongoClient(MONGODB_URI, { serverSelectionTimeoutMS: 5000 });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** Drops a test database. */
export async function dropDatabase(db: string): Promise<void> {
  await withClient((client) => client.db(db).dropDatabase());
}
