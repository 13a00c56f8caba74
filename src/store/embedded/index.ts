import type { StorePort } from '../port.js';
import { EmbeddedStore, type EmbeddedStoreOptions } from './embedded-store.js';

export type { EmbeddedStoreOptions };

/**
 * The embedded storage adapter: all records in memory, made durable by an append-only,
 * checksummed journal with group commit and periodic snapshots in `options.dir`. One process
 * per directory (enforced by a lock file). Call `open()` before use.
 */
export function createEmbeddedStore(options: EmbeddedStoreOptions): StorePort {
  return new EmbeddedStore(options);
}
