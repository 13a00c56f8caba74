import type { Hl7Config } from '../config.js';
import type { Sealer } from '../crypto/sealed.js';
import type { Pipeline } from '../fhir/pipeline.js';
import type { Logger } from '../logger.js';
import { MessageArchive } from './archive.js';
import { pipelinePort } from './fhir-port.js';
import type { MessageHandler } from './handle.js';
import { createMllpListener, parseAllowList, type MllpListener } from './listener.js';
import { observedHandler, type MllpObserver } from './observed-handler.js';

/** The HL7 v2 adapter as the app composes it: archive, handler (shared by MLLP and HTTP), MLLP listener. */
export interface Hl7Adapter {
  archive: MessageArchive;
  handler: MessageHandler;
  /** Largest message accepted over HTTP too (HL7_MLLP_MAX_BYTES). */
  maxBytes: number;
  /** The bound MLLP port once listening (undefined when HL7_MLLP_ENABLED=false). */
  port(): number | undefined;
  /** Loads the message handling (the parser and its dictionaries); messages received before wait for it. */
  load(): Promise<void>;
  listen(): Promise<void>;
  close(): Promise<void>;
}

/** `sealer` encrypts the archive's raw and error texts with the at-rest key ring (src/crypto/sealed.ts). */
export async function createHl7Adapter(options: { config: Hl7Config; dataDir: string; pipeline: Pipeline; sealer: Sealer; logger: Logger; baseUrl: string; clock?: () => Date; observer?: MllpObserver }): Promise<Hl7Adapter> {
  const { config } = options;
  const logger = options.logger.child({ component: 'hl7v2' });
  const archive = new MessageArchive(options.dataDir, options.sealer, options.clock);
  await archive.open();
  // The handling (the hl7v2 package and its dictionaries of every v2 version, the mappers) takes
  // ~0.8 s and ~26 MB to load: loaded by `load()`, which the app calls once the HTTP server
  // answers, so it is not on the path to ready (issue 13). A message received before then (MLLP
  // or HTTP) waits for the load.
  let loading: Promise<MessageHandler> | undefined;
  const load = (): Promise<MessageHandler> =>
    (loading ??= import('./handle.js').then(({ createHandler }) =>
      createHandler({
        archive,
        fhir: pipelinePort(options.pipeline),
        logger,
        baseUrl: options.baseUrl,
        processingIds: new Set(config.processingIds),
        identifierSystems: config.identifierSystems,
        defaultIdentifierSystem: config.defaultIdentifierSystem,
        controlIdReuse: config.controlIdReuse,
        clock: options.clock,
      }),
    ));
  const handler: MessageHandler = {
    handle: async (inbound) => (await load()).handle(inbound),
    oversized: async (inbound, limit) => (await load()).oversized(inbound, limit),
    replay: async (id, context) => (await load()).replay(id, context),
  };
  let listener: MllpListener | undefined;
  let port: number | undefined;
  return {
    archive,
    handler,
    maxBytes: config.maxBytes,
    port: () => port,
    async load() {
      await load();
    },
    async listen() {
      if (!config.mllpEnabled) return;
      listener = createMllpListener(options.observer ? observedHandler(handler, options.observer) : handler, { ...config, port: config.mllpPort, host: config.mllpHost, allow: parseAllowList(config.allow) }, logger);
      port = await listener.listen();
      logger.info({ port, allow: config.allow }, 'HL7 v2 MLLP listening');
    },
    async close() {
      await listener?.close();
      await archive.close();
    },
  };
}
