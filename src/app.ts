import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createLogAuditSink } from './audit/audit-sink.js';
import { createAuth } from './auth/create-auth.js';
import { ConfigError, type Config } from './config.js';
import { buildCapabilityStatement } from './fhir/capability-statement.js';
import { identityCodec } from './fhir/codec.js';
import { r4Definitions } from './fhir/definitions.js';
import { createPipeline, type Pipeline } from './fhir/pipeline.js';
import { createRegistry } from './fhir/registry.js';
import { createHttpApp } from './http/server.js';
import { JSON_TYPES } from './http/media.js';
import type { Logger } from './logger.js';
import { compartmentOf } from './search/compartment.js';
import { createSearchIndex } from './search/index/index.js';
import { createEmbeddedStore } from './store/embedded/index.js';
import type { StorePort } from './store/port.js';
import { createValidator } from './validation/create-validator.js';
import { loadTerminology } from './validation/terminology.js';

export interface App {
  config: Config;
  pipeline: Pipeline;
  store: StorePort;
  /** Starts listening on `config.port` (0 picks a free port); resolves with the bound port. */
  listen(): Promise<number>;
  /** Stops accepting requests, lets in-flight ones finish, then closes the store. */
  close(): Promise<void>;
}

const SOFTWARE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function createStore(config: Config, logger: Logger): StorePort {
  if (config.mongodbUri) {
    throw new ConfigError('MONGODB_URI is set, but the MongoDB adapter is not part of this build yet; unset it to use the embedded store');
  }
  return createEmbeddedStore({ dir: config.dataDir, logger: logger.child({ component: 'store' }) });
}

/**
 * The composition root: builds every dependency from the typed Config and passes it down.
 * Nothing below this file reads the environment or reaches for a global.
 */
export async function createApp(config: Config, logger: Logger, clock: () => Date = () => new Date()): Promise<App> {
  const definitions = r4Definitions();
  const registry = createRegistry(definitions);
  const validator = await createValidator({
    definitions,
    resourceTypes: registry.types,
    profilesDir: config.profilesDir,
    terminologyDir: config.terminologyDir,
  });
  const searchIndex = createSearchIndex({
    definitions,
    resourceTypes: registry.types,
    terminology: await loadTerminology(config.terminologyDir),
    baseUrl: config.fhirBaseUrl,
    clock,
  });
  const patientCompartment = compartmentOf(definitions.patientCompartment, searchIndex, registry.types);
  const store = createStore(config, logger);
  await store.open();
  const auth = await createAuth({ config: config.auth, audience: config.fhirBaseUrl, definitions, store, codec: identityCodec });
  const capabilityStatement = buildCapabilityStatement({
    registry,
    fhirBaseUrl: config.fhirBaseUrl,
    softwareVersion: SOFTWARE_VERSION,
    supportedProfiles: validator.supportedProfiles(),
    formats: [...JSON_TYPES, 'json'],
    date: clock(),
    searchIndex,
  });
  const pipeline = createPipeline({
    registry,
    store,
    validator,
    codec: identityCodec,
    authorize: auth.authorize,
    audit: createLogAuditSink(logger.child({ component: 'audit' })),
    logger,
    capabilityStatement,
    clock,
    paging: { defaultPageSize: config.defaultPageSize, maxPageSize: config.maxPageSize },
    searchIndex,
    patientCompartment,
  });
  const http = createHttpApp({ pipeline, store, logger, fhirBaseUrl: config.fhirBaseUrl, maxBodyBytes: config.maxBodyBytes, verifyToken: auth.verify });
  let server: Server | undefined;

  return {
    config,
    pipeline,
    store,
    listen: () =>
      new Promise((resolve, reject) => {
        server = http.listen(config.port);
        server.once('listening', () => resolve((server!.address() as AddressInfo).port));
        server.once('error', reject);
      }),
    async close() {
      if (server) {
        const closing = new Promise<void>((resolve) => server!.close(() => resolve()));
        server.closeIdleConnections();
        await closing;
      }
      await store.close();
    },
  };
}
