import type { MedicationRequest } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { r4Definitions } from '../../src/fhir/definitions.js';
import type { InteractionDeps } from '../../src/fhir/pipeline.js';
import { periodFilter } from '../../src/reports/per-practitioner.js';
import { buckets } from '../../src/reports/period.js';
import { createSearchIndex } from '../../src/search/index/index.js';
import { createEmbeddedStore } from '../../src/store/embedded/index.js';
import { groupCountOf, type StorePort, type WriteOp } from '../../src/store/port.js';
import { removeDir, tempDir } from '../store/embedded-support.js';

/**
 * Issue 18 item 4, "fast at 100k patients": the reports' store queries over 100,000 Patients
 * (registered over 100 days) and 20,000 prescriptions by 50 practitioners, on the embedded store
 * with the real search values. The bounds are loose (a shared CI machine), yet far below what
 * reading the records would take; they catch a report that reads every resource.
 */
const PATIENTS = 100_000;
const PRESCRIPTIONS = 20_000;
const DAY_MS = 86_400_000;
const START = Date.parse('2024-01-01T00:00:00Z');

let dir: string;
let store: StorePort;
const searchIndex = createSearchIndex({ definitions: r4Definitions(), resourceTypes: ['Patient', 'MedicationRequest'] });

async function commitAll(writes: WriteOp[]): Promise<void> {
  for (let i = 0; i < writes.length; i += 5000) await store.commit(writes.slice(i, i + 5000));
}

beforeAll(async () => {
  dir = await tempDir();
  store = createEmbeddedStore({ dir });
  await store.open();
  await commitAll(
    Array.from({ length: PATIENTS }, (_, i) => ({
      record: { resourceType: 'Patient', id: `p${i}`, versionId: 1, lastUpdated: new Date(START + Math.floor((i * 100) / PATIENTS) * DAY_MS + (i % 1000) * 1000).toISOString(), deleted: false, resource: { resourceType: 'Patient', id: `p${i}` } },
      expectedVersion: 0,
    })),
  );
  await commitAll(
    Array.from({ length: PRESCRIPTIONS }, (_, i) => {
      const resource: MedicationRequest = {
        resourceType: 'MedicationRequest',
        id: `m${i}`,
        status: 'active',
        intent: 'order',
        subject: { reference: `Patient/p${i % PATIENTS}` },
        requester: { reference: `Practitioner/d${Math.floor(i / 100) % 50}` },
        authoredOn: new Date(START + (i % 100) * DAY_MS).toISOString().slice(0, 10),
      };
      return { record: { resourceType: 'MedicationRequest', id: resource.id!, versionId: 1, lastUpdated: new Date(START).toISOString(), deleted: false, resource, index: searchIndex.extract(resource) }, expectedVersion: 0 };
    }),
  );
}, 300_000);

afterAll(async () => {
  await store?.close();
  await removeDir(dir);
});

const timed = async <T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
};

describe('reports at 100k patients', () => {
  it('daily new patients over 30 days: one indexed count per day', async () => {
    const period = { start: '2024-01-11', end: '2024-02-09', from: '2024-01-11T00:00:00.000Z', to: '2024-02-10T00:00:00.000Z' };
    const { value, ms } = await timed(() => Promise.all(buckets(period, 'day').map((d) => store.count('history', { resourceType: 'Patient', versionId: 1, lastUpdated: { $gte: d.from, $lt: d.to } }))));
    expect(value).toEqual(Array(30).fill(PATIENTS / 100));
    expect(ms).toBeLessThan(2000);
  });

  it('prescriptions by practitioner over a month, grouped in the store', async () => {
    const period = { start: '2024-02-01', end: '2024-02-29', from: '2024-02-01T00:00:00.000Z', to: '2024-03-01T00:00:00.000Z' };
    const filter = periodFilter({ searchIndex } as InteractionDeps, 'MedicationRequest', 'authoredon', period);
    const { value, ms } = await timed(() => groupCountOf(store, 'current', filter, 'index.requester.r'));
    // 29 of the 100 days, 200 prescriptions a day, over 50 practitioners.
    expect(value).toHaveLength(50);
    expect(value.reduce((sum, g) => sum + g.count, 0)).toBe(29 * (PRESCRIPTIONS / 100));
    expect(ms).toBeLessThan(3000);
  });
});
