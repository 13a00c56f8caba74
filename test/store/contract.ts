import { describe } from 'vitest';
import { describeGroupCountContract } from './contract-group-count.js';
import { describeQueryContract } from './contract-queries.js';
import { useFreshStore, type StoreFactory } from './contract-support.js';
import { describeVersionValuesContract } from './contract-versions.js';
import { describeWriteContract } from './contract-writes.js';

export type { StoreFactory, StoreFixture } from './contract-support.js';

/**
 * The StorePort contract: every adapter runs this suite, written only against the port, so
 * that the embedded and MongoDB stores behave identically for the pipeline. `factory` is
 * called before each test and must return an opened, empty store.
 */
export function describeStoreContract(name: string, factory: StoreFactory): void {
  describe(`StorePort contract: ${name}`, () => {
    const ctx = useFreshStore(factory);
    describeWriteContract(ctx);
    describeQueryContract(ctx);
    describeGroupCountContract(ctx);
    describeVersionValuesContract(ctx);
  });
}
