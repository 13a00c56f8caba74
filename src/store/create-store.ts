import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createEmbeddedStore } from './embedded/index.js';
import type { SearchParamSource } from './mongo/index.js';
import type { StorePort } from './port.js';
import { unindexedKeys } from '../search/index/value-index-plan.js';
import { UNSEARCHED_KEYS } from '../workflow/dispense-tally.js';

/**
 * Selects the storage adapter from the configuration: MongoDB when MONGODB_URI is set, the
 * embedded store in DATA_DIR otherwise. Shared by the server (`app.ts`) and the CLI
 * (`cli/migrate-store.ts`), which may also ask for one kind explicitly. The MongoDB driver is
 * loaded only when the MongoDB store is asked for.
 *
 * @param searchParams the served types and their search parameters, from which the MongoDB indexes are derived
 */
export async function createStore(config: Config, logger: Logger, searchParams: SearchParamSource, kind: StoreKind = config.mongodbUri ? 'mongo' : 'embedded'): Promise<StorePort> {
  const storeLogger = logger.child({ component: 'store' });
  // The AuditEvent of every request is created once and never changed: its index rows are written in batches (README "The audit trail").
  // The running total of a prescription changes with every dispense and is never searched: kept in the record only (issue 17).
  const unindexed: Record<string, string[]> = unindexedKeys(searchParams);
  for (const [type, keys] of Object.entries(UNSEARCHED_KEYS)) unindexed[type] = [...(unindexed[type] ?? []), ...keys];
  if (kind === 'embedded') return createEmbeddedStore({ dir: config.dataDir, logger: storeLogger, unindexed, deferredTypes: ['AuditEvent'] });
  if (!config.mongodbUri) throw new Error('MONGODB_URI must be set to use the MongoDB store');
  // The driver is imported only when used (issue 13: ~0.13 s of every embedded start).
  const { createMongoStore, indexPlan } = await import('./mongo/index.js');
  return createMongoStore({
    uri: config.mongodbUri,
    db: config.mongodb.db,
    connectTimeoutMs: config.mongodb.connectTimeoutMs,
    serverSelectionTimeoutMs: config.mongodb.serverSelectionTimeoutMs,
    searchReadPreference: config.mongodb.searchReadPreference,
    indexes: indexPlan(searchParams),
    logger: storeLogger,
  });
}

export type StoreKind = 'embedded' | 'mongo';
