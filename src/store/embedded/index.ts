import type { StorePort } from '../port.js';
import { EmbeddedStore, type EmbeddedStoreOptions } from './embedded-store.js';

export type { EmbeddedStoreOptions };

/**
 * The embedded storage adapter: a SQLite database in `options.dir` (records, every version and
 * an index of their search values on disk, WAL with group fsync; see schema.ts). Memory holds only
 * bounded caches. One process per directory (enforced by a lock file). Call `open()` before use.
 */
export function createEmbeddedStore(options: EmbeddedStoreOptions): StorePort {
  return new EmbeddedStore(options);
}
