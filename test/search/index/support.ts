import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe } from 'vitest';
import { r4Definitions } from '../../../src/fhir/definitions.js';
import { SERVED_TYPES } from '../../../src/fhir/registry.js';
import { createSearchIndex, type TerminologySource } from '../../../src/search/index/index.js';
import type { SearchIndex } from '../../../src/search/types.js';
import { createEmbeddedStore } from '../../../src/store/embedded/index.js';
import type { Filter, StorePort, StoredRecord } from '../../../src/store/port.js';
import { CORPUS_DIR } from '../../support/corpus-dir.js';
import { describeMongo, dropDatabase, openMongoStore, testDatabase } from '../../support/mongo.js';

export const ROOT_DIR = path.resolve(import.meta.dirname, '../../..');
export { CORPUS_DIR };
export const SERVED = Object.keys(SERVED_TYPES);

/** The served types the shared corpus has official examples of (Schedule and Slot, added by issue 17, have none there). */
export const WITH_EXAMPLES = SERVED.filter((type) => existsSync(path.join(CORPUS_DIR, 'fhir-r4/examples', type)));
export const BASE_URL = 'https://fhir.example.org/fhir';
/** "Now" for the `ap` window, fixed so the emitted documents are stable. */
export const NOW = new Date('2025-01-01T00:00:00.000Z');

function custom(code: string, base: string, type: 'number' | 'quantity' | 'composite', expression: string): SearchParameter {
  const url = `https://fhirgate.test/SearchParameter/${base}-${code}`;
  return { resourceType: 'SearchParameter', url, name: code, status: 'active', description: code, code, base: [base], type, expression } as SearchParameter;
}

function composite(code: string, base: string, expression: string, components: Array<[definition: string, expression: string]>): SearchParameter {
  const component = components.map(([definition, expr]) => ({ definition, expression: expr }));
  return { ...custom(code, base, 'composite', expression), component };
}

/**
 * No served type has a number, quantity or composite parameter in R4, so the tests add some,
 * the way a deployment could load custom SearchParameters.
 */
export const CUSTOM_PARAMS: SearchParameter[] = [
  custom('minutes', 'Appointment', 'number', 'Appointment.minutesDuration'),
  custom('quantity', 'MedicationDispense', 'quantity', 'MedicationDispense.quantity'),
  // pairs each participant's status with its own actor
  composite('status-actor', 'Appointment', 'Appointment.participant', [
    ['http://hl7.org/fhir/SearchParameter/Appointment-part-status', 'status'],
    ['http://hl7.org/fhir/SearchParameter/Appointment-actor', 'actor'],
  ]),
  // a code-value-quantity style composite on the resource itself
  composite('status-quantity', 'MedicationDispense', 'MedicationDispense', [
    ['http://hl7.org/fhir/SearchParameter/medications-status', 'status'],
    ['https://fhirgate.test/SearchParameter/MedicationDispense-quantity', 'quantity'],
  ]),
];

const GENDER_VS = 'http://hl7.org/fhir/ValueSet/administrative-gender';
const GENDER = 'http://hl7.org/fhir/administrative-gender';
const VALUE_SETS: Readonly<Record<string, Array<{ system: string; code: string }>>> = {
  // the required binding of Patient.gender: stored genders get their implied system
  [GENDER_VS]: ['male', 'female', 'other', 'unknown'].map((code) => ({ system: GENDER, code })),
  'https://fhirgate.test/ValueSet/female-or-other': ['female', 'other'].map((code) => ({ system: GENDER, code })),
};

/** A tiny terminology for `:in` / `:not-in` and implied systems; versions are ignored, as in `Terminology`. */
export const TEST_TERMINOLOGY: TerminologySource = {
  hasValueSet: (url) => url.split('|')[0] in VALUE_SETS || url === 'https://fhirgate.test/ValueSet/broken',
  expand(url) {
    const concepts = VALUE_SETS[url.split('|')[0]];
    if (!concepts) throw new Error('not expandable');
    return concepts;
  },
};

/** The index as the tests use it: official definitions plus the custom parameters. */
export function testIndex(): SearchIndex {
  const official = r4Definitions();
  return createSearchIndex({
    definitions: { ...official, searchParameters: [...official.searchParameters, ...CUSTOM_PARAMS] },
    resourceTypes: SERVED,
    terminology: TEST_TERMINOLOGY,
    baseUrl: BASE_URL,
    clock: () => NOW,
  });
}

/** The official R4 examples of a type, read from the shared corpus (never copied into the repo). */
export function corpusExamples(type: string): Resource[] {
  const dir = path.join(CORPUS_DIR, 'fhir-r4/examples', type);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Resource);
}

/** One parameter occurrence of a query: code, modifier, OR-ed values. */
export type Clause = [code: string, modifier: string | undefined, values: string[]];

/** An embedded store holding indexed resources, queried through the index's documents. */
export interface IndexedStore {
  store: StorePort;
  /** Ids of the type's records matching all clauses, sorted. */
  ids(type: string, ...clauses: Clause[]): Promise<string[]>;
  /** The filter of the clauses (AND), for a type. */
  filter(type: string, ...clauses: Clause[]): Filter;
  close(): Promise<void>;
}

/** The store adapters the search suites run on (MongoDB only with MONGODB_URI). */
export type StoreAdapter = 'embedded' | 'mongodb';

/** An empty store of the adapter, and how to remove it afterwards. */
async function emptyStore(adapter: StoreAdapter, index: SearchIndex): Promise<{ store: StorePort; remove: () => Promise<void> }> {
  if (adapter === 'mongodb') {
    const db = testDatabase('search');
    const store = await openMongoStore(db, { params: { resourceTypes: SERVED, params: (type) => index.params(type) } });
    return { store, remove: () => dropDatabase(db) };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-search-index-'));
  const store = createEmbeddedStore({ dir });
  await store.open();
  return { store, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Opens an empty store (embedded in a fresh directory by default) and commits the resources as
 * version 1, with `index` from `extract` and `lastUpdated` from `meta.lastUpdated` (or a fixed instant).
 */
export async function indexedStore(index: SearchIndex, resources: Resource[], adapter: StoreAdapter = 'embedded'): Promise<IndexedStore> {
  const { store, remove } = await emptyStore(adapter, index);
  const records: StoredRecord[] = resources.map((resource) => ({
    resourceType: resource.resourceType,
    id: resource.id as string,
    versionId: 1,
    lastUpdated: new Date(resource.meta?.lastUpdated ?? '2020-01-01T00:00:00.000Z').toISOString(),
    deleted: false,
    resource,
    index: index.extract(resource),
  }));
  // One commit each of at most 200 records: a single transaction stays small on MongoDB.
  for (let i = 0; i < records.length; i += 200) {
    await store.commit(records.slice(i, i + 200).map((record) => ({ record, expectedVersion: 0 })));
  }
  const filter = (type: string, ...clauses: Clause[]): Filter => ({
    $and: [{ resourceType: type }, ...clauses.map(([code, modifier, values]) => index.compile(type, code, modifier, values))],
  });
  return {
    store,
    filter,
    async ids(type, ...clauses) {
      const found = await store.find('current', filter(type, ...clauses));
      return found.map((r) => r.id).sort();
    },
    async close() {
      await store.close();
      await remove();
    },
  };
}

/** Ids of the corpus examples of a type satisfying a predicate, sorted: expectations computed from the raw JSON. */
export function corpusIds(type: string, predicate: (resource: Record<string, unknown>) => boolean): string[] {
  return corpusExamples(type)
    .filter((r) => predicate(r as unknown as Record<string, unknown>))
    .map((r) => r.id as string)
    .sort();
}

/** Every official example of the served types, plus `extra`, loaded once per test file (or describe block) into one store. */
export function useCorpusStore(index: SearchIndex, extra: Resource[], adapter: StoreAdapter = 'embedded'): { readonly db: IndexedStore } {
  let db: IndexedStore | undefined;
  beforeAll(async () => {
    db = await indexedStore(index, [...WITH_EXAMPLES.flatMap(corpusExamples), ...extra], adapter);
  });
  afterAll(async () => {
    await db?.close();
  });
  return {
    get db() {
      if (!db) throw new Error('store not open yet');
      return db;
    },
  };
}

/**
 * Runs a search suite on every store adapter: the query documents the index emits must select
 * the same resources in the embedded store and in MongoDB. The MongoDB run needs MONGODB_URI and
 * is reported as skipped without it.
 */
export function describeEachStore(title: string, index: SearchIndex, extra: Resource[], body: (handle: { readonly db: IndexedStore }) => void): void {
  describe(`${title} [embedded]`, () => body(useCorpusStore(index, extra, 'embedded')));
  describeMongo(`${title} [mongodb]`, () => body(useCorpusStore(index, extra, 'mongodb')));
}
