import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { r4Definitions } from '../../src/fhir/definitions.js';
import { SERVED_TYPES } from '../../src/fhir/registry.js';
import { createSearchIndex } from '../../src/search/index/index.js';
import { readPage, type SortKey } from '../../src/search/keyset.js';
import { resolveSort } from '../../src/search/sort.js';
import { findCommand } from '../../src/store/mongo/documents.js';
import type { CollectionName, Filter, FindOptions, StorePort } from '../../src/store/port.js';
import { describeMongo, dropDatabase, openMongoStore, testDatabase, withClient } from '../support/mongo.js';

/**
 * The query plans MongoDB picks for the documents FhirGate sends (issue 5, item 2): reads, history
 * and the common searches with their keyset pages must run on indexes, never a collection scan,
 * and the default and sorted first pages must read in index order (no blocking sort). The queries
 * are recorded from the real paging code, then explained. Runs only with MONGODB_URI.
 */
const TYPES = Object.keys(SERVED_TYPES);
const index = createSearchIndex({ definitions: r4Definitions(), resourceTypes: TYPES, baseUrl: 'https://fhir.example.org/fhir' });
const db = testDatabase('plans');
let store: StorePort;

interface Sent {
  collection: CollectionName;
  filter: Filter;
  options?: FindOptions;
}

function patient(i: number): Resource {
  return {
    resourceType: 'Patient',
    id: `p${String(i).padStart(3, '0')}`,
    identifier: [{ system: 'urn:mrn', value: String(1000 + i) }],
    name: [{ family: ['Smith', 'Jones', 'Brown', 'Miller'][i % 4], given: [`G${i}`] }],
    gender: i % 2 ? 'male' : 'female',
    birthDate: `${1940 + (i % 60)}-0${1 + (i % 9)}-1${i % 10}`,
  } as Resource;
}

function medicationRequest(i: number): Resource {
  return {
    resourceType: 'MedicationRequest',
    id: `mr${String(i).padStart(3, '0')}`,
    status: i % 3 ? 'active' : 'completed',
    intent: 'order',
    subject: { reference: `Patient/p${String(i % 50).padStart(3, '0')}` },
    authoredOn: `2024-0${1 + (i % 9)}-1${i % 10}`,
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: String(100 + (i % 7)) }] },
  } as Resource;
}

/** A page and the next one, as the search and history interactions read them; returns what was sent. */
async function pages(collection: CollectionName, filter: Filter, keys: SortKey[]): Promise<Sent[]> {
  const sent: Sent[] = [];
  // readPage only finds; everything it sends is recorded on the way to the real store.
  const recording = {
    find: (c: CollectionName, f: Filter, o?: FindOptions) => {
      sent.push({ collection: c, filter: f, options: o });
      return store.find(c, f, o);
    },
  } as StorePort;
  const first = await readPage(recording, collection, filter, keys, 5);
  if (first.next) await readPage(recording, collection, filter, keys, 5, first.next);
  return sent;
}

function search(type: string, clauses: Array<[string, string | undefined, string[]]>): Filter {
  return { $and: [{ resourceType: type, deleted: false }, ...clauses.map(([code, modifier, values]) => index.compile(type, code, modifier, values))] };
}

function sortKeys(type: string, ...specs: Array<[string, 1 | -1]>): SortKey[] {
  return resolveSort(index, type, specs.map(([code, direction]) => ({ code, direction }))).keys;
}

/** Every `stage` in an explain output (classic and slot-based engine, sharded or not). */
function stages(plan: unknown, out: string[] = []): string[] {
  if (Array.isArray(plan)) for (const item of plan) stages(item, out);
  else if (plan && typeof plan === 'object') {
    for (const [key, value] of Object.entries(plan)) {
      if (key === 'stage' && typeof value === 'string') out.push(value);
      else if (key !== 'rejectedPlans') stages(value, out);
    }
  }
  return out;
}

async function winningStages({ collection, filter, options }: Sent): Promise<string[]> {
  return withClient(async (client) => {
    const { projection, sort, limit } = findCommand(options);
    const explained = await client.db(db).collection(collection).find(filter, { projection, ...(sort ? { sort } : {}), limit }).explain('queryPlanner');
    return stages((explained as { queryPlanner: { winningPlan: unknown } }).queryPlanner.winningPlan);
  });
}

describeMongo('MongoDB query plans', () => {
  beforeAll(async () => {
    store = await openMongoStore(db);
    const resources = [...Array.from({ length: 60 }, (_, i) => patient(i)), ...Array.from({ length: 80 }, (_, i) => medicationRequest(i))];
    for (const resource of resources) {
      const record = { resourceType: resource.resourceType, id: resource.id!, versionId: 1, lastUpdated: new Date(Date.UTC(2024, 0, 1, 0, 0, resources.indexOf(resource))).toISOString(), deleted: false, resource, index: index.extract(resource) };
      await store.commit([{ record, expectedVersion: 0 }]);
      await store.commit([{ record: { ...record, versionId: 2, lastUpdated: new Date(Date.parse(record.lastUpdated) + 500).toISOString() }, expectedVersion: 1 }]);
    }
  });
  afterAll(async () => {
    await store?.close();
    await dropDatabase(db);
  });

  const BY_ID = sortKeys('Patient');
  const cases: Array<[label: string, run: () => Promise<Sent[]>, ordered: boolean]> = [
    ['read', async () => [{ collection: 'current', filter: { resourceType: 'Patient', id: 'p007' }, options: { limit: 1 } }], false],
    ['vread', async () => [{ collection: 'history', filter: { resourceType: 'Patient', id: 'p007', versionId: 1 }, options: { limit: 1 } }], false],
    ['instance history', () => pages('history', { resourceType: 'Patient', id: 'p007' }, [{ field: 'versionId', direction: -1 }]), true],
    ['type history', () => pages('history', { resourceType: 'Patient' }, [{ field: 'lastUpdated', direction: -1 }, { field: 'id', direction: -1 }, { field: 'versionId', direction: -1 }]), true],
    ['type history _since', () => pages('history', { resourceType: 'Patient', lastUpdated: { $gte: '2024-01-01T00:00:30.000Z' } }, [{ field: 'lastUpdated', direction: -1 }, { field: 'id', direction: -1 }, { field: 'versionId', direction: -1 }]), true],
    ['system history (every served type)', () => pages('history', { resourceType: { $in: TYPES } }, [{ field: 'lastUpdated', direction: -1 }, { field: 'id', direction: -1 }, { field: 'versionId', direction: -1 }]), true],
    ['search without criteria', () => pages('current', search('Patient', []), BY_ID), true],
    ['_sort=-birthdate', () => pages('current', search('Patient', []), sortKeys('Patient', ['birthdate', -1])), true],
    ['_sort=family', () => pages('current', search('Patient', []), sortKeys('Patient', ['family', 1])), true],
    ['_sort=-_lastUpdated', () => pages('current', search('Patient', []), sortKeys('Patient', ['_lastUpdated', -1])), true],
    ['family prefix', () => pages('current', search('Patient', [['family', undefined, ['smi']]]), BY_ID), false],
    ['identifier system|value', () => pages('current', search('Patient', [['identifier', undefined, ['urn:mrn|1007']]]), BY_ID), false],
    ['birthdate range', () => pages('current', search('Patient', [['birthdate', 'ge', ['1960']], ['birthdate', undefined, ['lt1970']]]), BY_ID), false],
    ['gender', () => pages('current', search('Patient', [['gender', undefined, ['male']]]), BY_ID), false],
    ['subject reference', () => pages('current', search('MedicationRequest', [['subject', undefined, ['Patient/p007']]]), BY_ID), false],
    ['status, newest first', () => pages('current', search('MedicationRequest', [['status', undefined, ['active']]]), sortKeys('MedicationRequest', ['authoredon', -1])), false],
    ['code system|code', () => pages('current', search('MedicationRequest', [['code', undefined, ['http://www.nlm.nih.gov/research/umls/rxnorm|103']]]), BY_ID), false],
    ['_include targets', async () => [{ collection: 'current', filter: { resourceType: 'Patient', id: { $in: ['p001', 'p002'] }, deleted: false }, options: { sort: { id: 1 }, limit: 1001 } }], false],
    ['_revinclude / chain sources', async () => [{ collection: 'current', filter: { $and: [{ resourceType: 'MedicationRequest', deleted: false }, index.compileReferenceIn('MedicationRequest', 'subject', ['Patient/p001', 'Patient/p002'])] }, options: { limit: 1001 } }], false],
  ];

  it.each(cases)('%s runs on indexes', async (_label, run, ordered) => {
    const sent = await run();
    expect(sent.length).toBeGreaterThan(0);
    for (const query of sent) {
      const used = await winningStages(query);
      expect(used, JSON.stringify(query.filter)).not.toContain('COLLSCAN');
      expect(used.some((s) => /IXSCAN|IDHACK|EXPRESS|DISTINCT_SCAN/.test(s)), used.join(' > ')).toBe(true);
      // The first page of an unfiltered order is read in index order, not sorted in memory.
      if (ordered && query === sent[0]) expect(used, used.join(' > ')).not.toContain('SORT');
    }
  });
});
