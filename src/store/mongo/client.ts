import { MongoClient, type MongoClientOptions, type TopologyDescription } from 'mongodb';
import type { Logger } from '../../logger.js';
import type { RecordCollections } from './commit.js';
import { deploymentProblem, describeTarget, hasWritableServer, type HelloReply } from './deployment.js';
import type { IndexPlan } from './index-plan.js';
import { ensureIndexes } from './indexes.js';

/** How to reach MongoDB. TLS, authentication and replica set options stay in the URI, passed through as given. */
export interface ConnectionSettings {
  /** `mongodb://` or `mongodb+srv://` connection string. */
  uri: string;
  /** Database of the `current` and `history` collections. */
  db: string;
  connectTimeoutMs: number;
  serverSelectionTimeoutMs: number;
}

/**
 * Driver options FhirGate sets on top of the URI's (options given here take precedence):
 * majority write concern and retryable writes, so an acknowledged write survives a failover;
 * primary reads unless a search asks otherwise; `undefined` members dropped as JSON drops them.
 */
export function clientOptions(settings: ConnectionSettings): MongoClientOptions {
  return {
    appName: 'fhirgate',
    connectTimeoutMS: settings.connectTimeoutMs,
    serverSelectionTimeoutMS: settings.serverSelectionTimeoutMs,
    retryWrites: true,
    retryReads: true,
    writeConcern: { w: 'majority' },
    readPreference: 'primary',
    ignoreUndefined: true,
  };
}

/** A connected, checked and indexed deployment. */
export interface MongoHandle {
  client: MongoClient;
  collections: RecordCollections;
  /** True while the driver knows a primary (or mongos) to write to: readiness. */
  writable(): boolean;
  close(): Promise<void>;
}

/** Raised when the deployment is reachable but cannot serve FhirGate (standalone, too old). */
export class DeploymentError extends Error {
  override name = 'DeploymentError';
}

/**
 * Connects, checks the deployment (replica set, version) and creates the indexes. On any
 * failure the client is closed again, so a retry starts clean.
 */
export async function connectMongo(settings: ConnectionSettings, plan: IndexPlan, logger: Logger | undefined): Promise<MongoHandle> {
  const client = new MongoClient(settings.uri, clientOptions(settings));
  let topology: TopologyDescription | undefined;
  client.on('topologyDescriptionChanged', (event) => {
    topology = event.newDescription;
  });
  try {
    await client.connect();
    const admin = client.db('admin');
    const hello = (await admin.command({ hello: 1 })) as HelloReply;
    const build = (await admin.command({ buildInfo: 1 })) as { versionArray?: number[] };
    const problem = deploymentProblem(hello, build.versionArray, describeTarget(settings.uri));
    if (problem) throw new DeploymentError(problem);
    const db = client.db(settings.db);
    await ensureIndexes(db, plan, logger);
    return {
      client,
      collections: { current: db.collection('current'), history: db.collection('history') },
      writable: () => hasWritableServer(topology),
      close: () => client.close(),
    };
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}
