/**
 * Micro-benchmark of the embedded store, outside the HTTP stack:
 *   npx tsx bench/store-embedded.ts [seconds-per-cell]
 * Prints commits/s at concurrency 1 and 64 (one ~1.3 KB record per commit, each commit
 * durable), and the cost of a read by id against a scan of the same type.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedStore } from '../src/store/embedded/index.js';
import type { StorePort, StoredRecord } from '../src/store/port.js';

const seconds = Number(process.argv[2] ?? 3);
const div = 'x'.repeat(1000);

function patient(id: string, versionId = 1): StoredRecord {
  return {
    resourceType: 'Patient',
    id,
    versionId,
    lastUpdated: new Date().toISOString(),
    deleted: false,
    resource: { resourceType: 'Patient', id, active: true, name: [{ family: 'Smith', given: ['Anna'] }], text: { status: 'generated', div } },
    index: { family: ['smith'], identifier: [{ system: 'urn:mrn', value: id }] },
  };
}

async function commitsPerSecond(store: StorePort, concurrency: number): Promise<number> {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; performance.now() < until; i++) {
      await store.commit([{ record: patient(`c${concurrency}-w${w}-${i}`), expectedVersion: 0 }]);
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return done / ((performance.now() - start) / 1000);
}


async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fhirgate-bench-store-'));
  const store = createEmbeddedStore({ dir });
  try {
    await store.open();
    const c1 = await commitsPerSecond(store, 1);
    const c64 = await commitsPerSecond(store, 64);
    const total = await store.count('current', { resourceType: 'Patient' });
    const ids = (await store.find('current', { resourceType: 'Patient' })).map((r) => r.id);
    // Awaiting each call measures the store's own cost plus one promise hop.
    const timeAsync = async (iterations: number, fn: (i: number) => Promise<unknown>): Promise<number> => {
      const start = performance.now();
      for (let i = 0; i < iterations; i++) await fn(i);
      return ((performance.now() - start) * 1000) / iterations;
    };
    const byId = await timeAsync(50_000, (i) => store.find('current', { resourceType: 'Patient', id: ids[(i * 7919) % ids.length] }));
    const vread = await timeAsync(50_000, (i) => store.find('history', { resourceType: 'Patient', id: ids[(i * 7919) % ids.length], versionId: 1 }));
    const scan = await timeAsync(20, (i) => store.find('current', { resourceType: 'Patient', 'index.identifier': { $elemMatch: { system: 'urn:mrn', value: ids[i] } } }));
    console.log(`| measure | value |\n|---|---|`);
    console.log(`| commits/s, concurrency 1 | ${c1.toFixed(0)} |`);
    console.log(`| commits/s, concurrency 64 | ${c64.toFixed(0)} |`);
    console.log(`| find by id (${total} patients) | ${byId.toFixed(1)} µs |`);
    console.log(`| vread (history by id + versionId) | ${vread.toFixed(1)} µs |`);
    console.log(`| scan with $elemMatch over ${total} patients (for contrast) | ${(scan / 1000).toFixed(1)} ms |`);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
