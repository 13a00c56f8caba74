import type { StorePort } from '../port.js';
import { indexPlan, type SearchParamSource } from './index-plan.js';
import { MongoStore, type MongoStoreOptions } from './mongo-store.js';

export type { MongoStoreOptions };
export type { SearchParamSource };
export { indexPlan };

/**
 * The MongoDB storage adapter (issue 5): `current` and `history` collections, every commit in a
 * multi-document transaction with majority write concern, indexes derived from the search
 * parameters. Needs a replica set (or sharded cluster) running MongoDB 7.0+. Call `open()`
 * before use; it does not fail when MongoDB is unreachable, it keeps retrying.
 */
export function createMongoStore(options: MongoStoreOptions): StorePort {
  return new MongoStore(options);
}
