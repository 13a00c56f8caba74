import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import type { AddressInfo } from 'node:net';
import { createAuditEventSink } from './audit/audit-event-sink.js';
import { createLogAuditSink } from './audit/audit-sink.js';
import { withSmartSecurity } from './auth/capability-security.js';
import { createAuth } from './auth/create-auth.js';
import type { Config } from './config.js';
import { createConsentGate } from './consent/gate.js';
import { createCrypto, type Crypto } from './crypto/index.js';
import { createExportService } from './export/service.js';
import { buildCapabilityStatement } from './fhir/capability-statement.js';
import { r4Definitions } from './fhir/definitions.js';
import { createPipeline, type Pipeline } from './fhir/pipeline.js';
import { createRegistry, resourceTypesOf, SERVED_TYPES } from './fhir/registry.js';
import { createHl7Adapter, type Hl7Adapter } from './hl7v2/index.js';
import { answerClientErrors } from './http/client-error.js';
import { createHttpApp } from './http/server.js';
import { portalConfig } from './portal/client.js';
import { JSON_TYPES } from './http/media.js';
import type { Logger } from './logger.js';
import { createMetricsServer } from './http/metrics-server.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { withCommitMetrics } from './metrics/store-metrics.js';
import { compartmentOf } from './search/compartment.js';
import { createSearchIndex } from './search/index/index.js';
import { createStore } from './store/create-store.js';
import type { StorePort } from './store/port.js';
import { sharedValidator } from './validation/create-validator.js';
import { loadTerminology } from './validation/terminology.js';
import { createSubscriptions, withBreakGlassSearch, type Subscriptions } from './subscriptions/index.js';
import { withPublicAvailability } from './workflow/availability.js';
import { createWorkflow } from './workflow/index.js';
import { withWorkflowViews } from './workflow/views.js';

export interface App {
  config: Config;
  pipeline: Pipeline;
  store: StorePort;
  /** Encryption at rest, blind index, encrypted exchange, key rotation (issue 9). */
  crypto: Crypto;
  /** The HL7 v2 adapter (issue 6): MLLP listener, message archive and handler. */
  hl7: Hl7Adapter;
  /** Prometheus metrics (issue 18); `addQueue` is the hook for other features' queue depths. */
  metrics: Metrics;
  /** Subscriptions (issue 18): `depth()` is the delivery queue's length. */
  subscriptions: Subscriptions;
  /** Starts listening on `config.port` (0 picks a free port); resolves with the bound port. */
  listen(): Promise<number>;
  /** Stops accepting requests, lets in-flight ones finish, then closes the store. */
  close(): Promise<void>;
}

// The patient portal's static files (issue 21), beside package.json for both src/ and dist/.
const PORTAL_DIR = fileURLToPath(new URL('../portal/', import.meta.url));
const SOFTWARE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The composition root: builds every dependency from the typed Config and passes it down.
 * Nothing below this file reads the environment or reaches for a global.
 */
export async function createApp(config: Config, logger: Logger, clock: () => Date = () => new Date()): Promise<App> {
  const definitions = withBreakGlassSearch(withPublicAvailability(r4Definitions()));
  const registry = createRegistry(definitions, SERVED_TYPES, resourceTypesOf(definitions, config.resourceTypes));
  const validator = await sharedValidator({
    definitions,
    resourceTypes: registry.types,
    warmTypes: registry.coreTypes,
    // Compiled once the server listens (`listen()` below): off the path to ready (issue 13).
    warmLater: true,
    profilesDir: config.profilesDir,
    terminologyDir: config.terminologyDir,
    strict: config.validationStrict,
  });
  const searchIndex = createSearchIndex({
    definitions,
    resourceTypes: registry.types,
    warmTypes: registry.coreTypes,
    terminology: await loadTerminology(config.terminologyDir),
    baseUrl: config.fhirBaseUrl,
    clock,
  });
  const patientCompartment = compartmentOf(definitions.patientCompartment, searchIndex, registry.types);
  // MongoDB sort indexes for the core types only: one pair per sortable parameter of ~150 types would pass MongoDB's 64 indexes per collection.
  const metrics = createMetrics();
  // Subscriptions (issue 18): every durable commit is reported to them; they deliver from their own queue.
  const subscriptions = createSubscriptions({ settings: config.subscriptions, dataDir: config.dataDir, logger, clock });
  const observed = withCommitMetrics(subscriptions.observe(await createStore(config, logger, { resourceTypes: registry.coreTypes, params: (type) => searchIndex.params(type) })), metrics);
  // The rules' in-process views of what is committed (who holds which hours, prescriptions) see every commit (workflow/views.ts).
  const store = config.workflowRules ? withWorkflowViews(observed) : observed;
  await store.open();
  const crypto = await createCrypto({
    settings: config.crypto,
    store,
    searchIndex,
    resourceTypes: registry.types,
    structureDefinition: (type) => (registry.has(type) ? registry.get(type).structureDefinition : undefined),
    logger: logger.child({ component: 'crypto' }),
  }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const consent = createConsentGate({ store, codec: crypto.codec, searchIndex: crypto.searchIndex, patientCompartment, types: registry.types, clock, settings: config.consent });
  // Built before the authorization server, which records logins and token grants in it.
  const audit =
    config.auditSink === 'store'
      ? createAuditEventSink({ store, codec: crypto.codec, searchIndex: crypto.searchIndex, clock, logger: logger.child({ component: 'audit' }), observer: config.fhirBaseUrl })
      : createLogAuditSink(logger.child({ component: 'audit' }), store);
  // The sign-in's patient picker searches through the pipeline, which is built below with this authorization.
  const auth = await createAuth({ config: config.auth, audience: config.fhirBaseUrl, definitions, patientCompartment, searchIndex: crypto.searchIndex, store, codec: crypto.codec, audit, execute: (request) => pipeline.execute(request) });
  const startedAt = clock();
  let capabilities: CapabilityStatement | undefined;
  const capabilityStatement = (): CapabilityStatement =>
    (capabilities ??= withSmartSecurity(
      buildCapabilityStatement({
        registry,
        fhirBaseUrl: config.fhirBaseUrl,
        softwareVersion: SOFTWARE_VERSION,
        supportedProfiles: validator.supportedProfiles(),
        formats: [...JSON_TYPES, 'json'],
        date: startedAt,
        searchIndex,
        conditionalDeleteMultiple: config.conditionalDeleteMultiple,
      }),
      auth.server?.smartConfiguration(),
    ));
  const pipeline = createPipeline({
    registry,
    store,
    validator,
    codec: crypto.codec,
    authorize: auth.authorize,
    audit,
    logger,
    capabilityStatement,
    clock,
    paging: { defaultPageSize: config.defaultPageSize, maxPageSize: config.maxPageSize, maxResponseChars: config.maxResponseBytes },
    searchIndex: crypto.searchIndex,
    patientCompartment,
    rest: { maxBundleEntries: config.maxBundleEntries, conditionalDeleteMultiple: config.conditionalDeleteMultiple },
    consent,
    workflow: subscriptions.check(config.workflowRules ? createWorkflow() : undefined, (type) => registry.has(type)),
  });
  // Bulk Data $export (issue 18): jobs under DATA_DIR/export, read with the same access and consent filters as search.
  const exports = createExportService({ store, codec: crypto.codec, searchIndex: crypto.searchIndex, registry, clock, paging: { defaultPageSize: config.defaultPageSize, maxPageSize: config.maxPageSize }, patientCompartment, consent, audit, sealer: crypto.sealer, logger: logger.child({ component: 'export' }), settings: config.bulkExport });
  crypto.addRotationStep('export', (rotation) => exports.rotate(rotation));
  const hl7 = await createHl7Adapter({ config: config.hl7, dataDir: config.dataDir, pipeline, sealer: crypto.sealer, logger, baseUrl: config.fhirBaseUrl, clock, observer: metrics });
  // The archive's JWEs move to the current key with the store's (README "Rotating keys").
  crypto.addRotationStep('hl7v2-archive', (rotation) => hl7.archive.rotate(rotation));
  const http = createHttpApp({ pipeline, store, audit, logger, fhirBaseUrl: config.fhirBaseUrl, maxBodyBytes: config.maxBodyBytes, verifyToken: auth.verify, corsAllows: auth.corsAllows, auth, exchange: crypto.exchange, hl7, exports, portal: auth.server ? { dir: PORTAL_DIR, config: portalConfig({ fhirBaseUrl: config.fhirBaseUrl, portalUrl: config.auth.portalUrl }), authOrigin: new URL(config.auth.embeddedIssuer).origin } : undefined, metrics: config.metrics.enabled ? { metrics, servedTypes: new Set(registry.types), onMainPort: config.metrics.port === undefined, token: config.metrics.token } : undefined });
  const metricsServer = config.metrics.enabled && config.metrics.port !== undefined ? createMetricsServer({ metrics, token: config.metrics.token, logger }) : undefined;
  let server: Server | undefined;

  return {
    config,
    pipeline,
    store,
    hl7,
    crypto,
    metrics,
    subscriptions,
    listen: async () => {
      // Only the serving process delivers (the maintenance commands build the app without listening).
      await subscriptions.start({ pipeline, store, codec: crypto.codec, baseUrl: config.fhirBaseUrl });
      await crypto.listen();
      await hl7.listen();
      await exports.start();
      if (metricsServer) logger.info({ port: await metricsServer.listen(config.metrics.port!, config.metrics.host), host: config.metrics.host }, 'metrics listening');
      const port = await new Promise<number>((resolve, reject) => {
        server = http.listen(config.port);
        answerClientErrors(server);
        server.once('listening', () => resolve((server!.address() as AddressInfo).port));
        server.once('error', reject);
      });
      // After the HTTP server (issue 13): the core types' validators compile in the background, a
      // type at a time, and the HL7 adapter loads its parser (MLLP, bound above, holds messages until then).
      validator.warm().catch((err: unknown) => logger.error({ err }, 'validation: compiling the core types failed; each compiles on its first use'));
      await hl7.load();
      return port;
    },
    async close() {
      if (server) {
        const closing = new Promise<void>((resolve) => server!.close(() => resolve()));
        server.closeIdleConnections();
        await closing;
      }
      await hl7.close();
      await exports.close();
      await metricsServer?.close();
      await subscriptions.close();
      auth.server?.close();
      await crypto.close();
      await store.close();
    },
  };
}
