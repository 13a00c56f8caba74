import type { StructureDefinition } from '@medplum/fhirtypes';
import { ConfigError } from '../config.js';
import type { Logger } from '../logger.js';
import type { SearchIndex } from '../search/types.js';
import { StoreUnavailableError, type StorePort } from '../store/port.js';
import { blindIndex, blindParams } from './blind-index.js';
import { startControlServer, type ControlServer, type RotateHandler } from './control.js';
import { createSensitiveElements, DEFAULT_ENCRYPTED_ELEMENTS } from './elements.js';
import { createExchange, type Exchange } from './exchange.js';
import { KeyRingError, type KeyRing } from './key-ring.js';
import { loadKeyRing, readKeyRing, type KeySource } from './key-source.js';
import { createJweCodec, ENCRYPTED_ELEMENTS_URL, type JweCodec, type KeyRingRef } from './jwe-codec.js';
import { createRecipientRegistry } from './recipients.js';
import { rotateStore } from './rotation.js';
import { createSealer, type Sealer } from './sealed.js';

export { ENCRYPTED_ELEMENTS_URL } from './jwe-codec.js';
export { JOSE_MEDIA_TYPE, type Exchange } from './exchange.js';
export type { Sealer } from './sealed.js';

/**
 * Data kept at rest outside the store (the HL7 v2 message archive) that a rotation must also move
 * to the current key: called after the store, returns how many records it re-encrypted.
 */
export type RotationStep = (options: { all: boolean }) => Promise<number>;

/** What encryption is configured with (`Config.crypto`, see README "Encryption"). */
export interface CryptoSettings {
  keys: KeySource;
  /** FHIRPath expressions of the sensitive elements per type; undefined: the documented defaults. */
  encryptedElements?: Readonly<Record<string, readonly string[]>>;
  /** The control socket of `npm run rotate-keys` (`DATA_DIR/crypto/control.sock`). */
  controlSocket: string;
  /** The registry of exchange recipients (`DATA_DIR/exchange/recipients.json`). */
  recipientsFile: string;
}

export interface Crypto {
  /** The StorageCodec: sensitive elements as one JWE per version. */
  codec: JweCodec;
  /** The search index with encrypted elements indexed as keyed hashes. */
  searchIndex: SearchIndex;
  exchange: Exchange;
  /** Seals other data at rest (the HL7 v2 archive) as JWEs under the same key ring. */
  sealer: Sealer;
  /** Adds data outside the store to what `rotate` re-encrypts (`summary.steps[name]`). */
  addRotationStep(name: string, step: RotationStep): void;
  /** Reloads the key ring from its source, then re-encrypts everything not under its current keys. */
  rotate: RotateHandler;
  /** Opens the control socket `npm run rotate-keys` talks to. */
  listen(): Promise<void>;
  close(): Promise<void>;
}

export interface CryptoOptions {
  settings: CryptoSettings;
  store: StorePort;
  searchIndex: SearchIndex;
  resourceTypes: readonly string[];
  structureDefinition(type: string): StructureDefinition | undefined;
  logger: Logger;
}

const ENCRYPTED = { 'resource.extension': { $elemMatch: { url: ENCRYPTED_ELEMENTS_URL } } };

const atRestAndIndexKids = (ring: KeyRing): string[] => [...ring.atRestKids, ...ring.indexKeys.map((k) => k.kid)];

/**
 * Builds encryption at rest, the blind index and encrypted exchange (issue 9) from the settings;
 * the store must be open. Fails start-up with a ConfigError when the elements are misconfigured,
 * the key ring is missing, unreadable or invalid, or it cannot decrypt what the store holds:
 * the server never falls back to clear text.
 */
export async function createCrypto(options: CryptoOptions): Promise<Crypto> {
  const { settings, store, logger } = options;
  const { elements, problems } = createSensitiveElements(settings.encryptedElements ?? DEFAULT_ENCRYPTED_ELEMENTS, options.structureDefinition);
  if (problems.length > 0) throw new ConfigError(`FHIRGATE_ENCRYPTED_ELEMENTS: ${problems.join('; ')}`);
  const hasEncrypted = async (): Promise<boolean> => {
    try {
      return (await store.find('history', ENCRYPTED, { limit: 1 })).length > 0;
    } catch (err) {
      // MongoDB may be unreachable at start (issue 5): unable to tell, never generate a ring that could orphan encrypted data.
      if (!(err instanceof StoreUnavailableError)) throw err;
      throw new KeyRingError(`The key ring ${settings.keys.kind === 'generated' ? settings.keys.path : ''} does not exist yet and the store cannot be reached to check that it holds no encrypted data; start again once the store is reachable, or supply FHIRGATE_KEYS_FILE / FHIRGATE_KEYS`);
    }
  };
  let ring: KeyRingRef;
  try {
    ring = { current: await loadKeyRing(settings.keys, logger, hasEncrypted) };
  } catch (err) {
    if (err instanceof KeyRingError) throw new ConfigError(err.message);
    throw err;
  }
  const codec = createJweCodec({ ring, elements, logger });
  await assertDecryptsStore(store, codec, ring.current).catch((err: unknown) => {
    // A store still connecting (MongoDB, issue 5) must not stop the start: a wrong ring then shows at the first read instead.
    if (!(err instanceof StoreUnavailableError)) throw err;
    logger.warn('crypto: the store is not reachable yet; the key ring was not checked against stored data');
  });
  const searchIndex = blindIndex(options.searchIndex, { ring, elements, resourceTypes: options.resourceTypes });
  logger.info(
    { keyRing: ring.current.source, atRestKid: ring.current.atRest.kid, blindIndexed: blindParams(options.searchIndex, elements, options.resourceTypes), exchange: ring.current.exchangeKeys.length > 0 },
    'crypto: sensitive elements are encrypted at rest',
  );

  const rotationSteps = new Map<string, RotationStep>();
  const rotate: RotateHandler = async (rotation, onProgress) => {
    const fresh = await readKeyRing(settings.keys, logger);
    const missing = atRestAndIndexKids(ring.current).filter((kid) => !atRestAndIndexKids(fresh).includes(kid));
    if (missing.length > 0) {
      throw new Error(`The key ring ${fresh.source} no longer holds ${missing.join(', ')}; keep old keys until a rotation has finished, then remove them and restart`);
    }
    ring.current = fresh;
    const summary = await rotateStore({ store, codec, searchIndex, ring }, rotation, onProgress);
    const steps: Record<string, number> = {};
    for (const [name, step] of rotationSteps) steps[name] = await step({ all: rotation.all === true });
    return { ...summary, steps };
  };
  let control: ControlServer | undefined;
  return {
    codec,
    searchIndex,
    exchange: createExchange({ ring, recipients: createRecipientRegistry(settings.recipientsFile) }),
    sealer: createSealer(ring),
    addRotationStep(name, step) {
      rotationSteps.set(name, step);
    },
    rotate,
    async listen() {
      control ??= await startControlServer(settings.controlSocket, rotate, logger);
    },
    async close() {
      await control?.close();
      control = undefined;
    },
  };
}

/** Start-up check: one stored JWE decrypts with the ring (a wrong or foreign key ring stops here, not at the first read). */
async function assertDecryptsStore(store: StorePort, codec: JweCodec, ring: KeyRing): Promise<void> {
  const [sample] = await store.find('current', { deleted: false, ...ENCRYPTED }, { limit: 1 });
  if (!sample?.resource) return;
  try {
    await codec.decode(sample.resource);
  } catch (err) {
    throw new ConfigError(`The key ring ${ring.source} cannot decrypt the stored data (${(err as Error).message}); supply the key ring this data was encrypted with`);
  }
}
