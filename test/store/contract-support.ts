import type { Resource } from '@medplum/fhirtypes';
import { afterEach, beforeEach } from 'vitest';
import type { StorePort, StoredRecord, WriteOp } from '../../src/store/port.js';

/** What a store factory hands the contract suite. */
export interface StoreFixture {
  /** An opened, empty store. */
  store: StorePort;
  /** Opens a new store over the same data; the suite closes the previous one first. Omit when the adapter cannot. */
  reopen?: () => Promise<StorePort>;
  /** Closes whatever this fixture opened that is still open, and removes its data. */
  cleanup: () => Promise<void>;
}

/** Creates a fresh fixture; called once per test. */
export type StoreFactory = () => Promise<StoreFixture>;

/**
 * The fixture of an adapter that can open its data again: `open` opens a store over the same data
 * each time; cleanup closes every store it opened, then removes the data.
 */
export async function reopenableFixture(open: () => Promise<StorePort>, removeData: () => Promise<void>): Promise<StoreFixture> {
  const opened: StorePort[] = [];
  const reopen = async (): Promise<StorePort> => {
    const store = await open();
    opened.push(store);
    return store;
  };
  return {
    store: await reopen(),
    reopen,
    cleanup: async () => {
      for (const s of opened) await s.close();
      await removeData();
    },
  };
}

/** A fresh fixture per test, read through getters because it changes between tests. */
export interface FreshStore {
  readonly fixture: StoreFixture;
  readonly store: StorePort;
}

/** Registers beforeEach/afterEach hooks giving every test its own empty store. */
export function useFreshStore(factory: StoreFactory): FreshStore {
  let fixture: StoreFixture | undefined;
  beforeEach(async () => {
    fixture = await factory();
  });
  afterEach(async () => {
    await fixture?.cleanup();
    fixture = undefined;
  });
  return {
    get fixture() {
      if (!fixture) throw new Error('no fixture outside a test');
      return fixture;
    },
    get store() {
      return this.fixture.store;
    },
  };
}

/** Fields of a record a test cares about; the rest get stable defaults. */
export interface RecordFields {
  versionId?: number;
  lastUpdated?: string;
  deleted?: boolean;
  resource?: Record<string, unknown>;
  index?: Record<string, unknown>;
}

/** A stored record; `resource` defaults to a minimal resource of that type and id. */
export function record(resourceType: string, id: string, fields: RecordFields = {}): StoredRecord {
  const versionId = fields.versionId ?? 1;
  const deleted = fields.deleted ?? false;
  return {
    resourceType,
    id,
    versionId,
    lastUpdated: fields.lastUpdated ?? new Date(Date.UTC(2024, 0, 1, 0, 0, versionId)).toISOString(),
    deleted,
    ...(deleted ? {} : { resource: { resourceType, id, ...fields.resource } as unknown as Resource }),
    ...(fields.index ? { index: fields.index } : {}),
  };
}

/** A write of `record` expecting the version just before it (0 for a create). */
export function writeOf(stored: StoredRecord): WriteOp {
  return { record: stored, expectedVersion: stored.versionId - 1 };
}

/** Commits each record as its own create (or next version). */
export async function seed(store: StorePort, records: StoredRecord[]): Promise<void> {
  for (const stored of records) await store.commit([writeOf(stored)]);
}

/** The `Type/id` of each record, in order, for compact assertions. */
export function refs(records: StoredRecord[]): string[] {
  return records.map((r) => `${r.resourceType}/${r.id}`);
}

/** Sorted ids, for assertions where the store's order is unspecified. */
export function idSet(records: StoredRecord[]): string[] {
  return records.map((r) => r.id).sort();
}
