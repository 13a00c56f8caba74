/**
 * Micro-benchmark of the writes the workflow rules derive (issue 17), in the embedded store alone:
 *   npx tsx bench/store-derived.ts [writes]
 * Seeds `writes` Slots and prescriptions with the search values FhirGate extracts for them, then
 * commits, one commit each as a request would, a slot's `busy` version and a prescription's version
 * with its running total changed, and prints the CPU (user + system) per commit of each. Run it on
 * two builds back to back to compare what the store costs them. A slot's busy version is also
 * measured with its hold keys (`hold-index.ts`) as the rules write them: kept (a Slot keeps its
 * schedule's hours whatever its status) and, as before that, added by the busy version, in
 * alternating blocks so the machine's drift falls on both alike.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { r4Definitions } from '../src/fhir/definitions.js';
import { createSearchIndex } from '../src/search/index/index.js';
import { createEmbeddedStore } from '../src/store/embedded/index.js';
import type { StoredRecord, StorePort } from '../src/store/port.js';
import { UNSEARCHED_KEYS } from '../src/workflow/dispense-tally.js';
import { HOLDS_KEY, holdKeysOf } from '../src/workflow/hold-index.js';

const writes = Number(process.argv[2] ?? 2000);
const index = createSearchIndex({ definitions: r4Definitions(), resourceTypes: ['Slot', 'MedicationRequest'] });

const slot = (i: number, status: string): Resource =>
  ({
    resourceType: 'Slot',
    id: `s${i}`,
    schedule: { reference: `Schedule/ws${i % 20}` },
    serviceType: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/service-type', code: '57' }] }],
    status,
    start: new Date(Date.UTC(2030, 0, 1, 8) + i * 900_000).toISOString(),
    end: new Date(Date.UTC(2030, 0, 1, 8) + (i + 1) * 900_000).toISOString(),
  }) as Resource;

const prescription = (i: number): Resource =>
  ({
    resourceType: 'MedicationRequest',
    id: `m${i}`,
    status: 'active',
    intent: 'order',
    subject: { reference: `Patient/p${i % 50}` },
    requester: { reference: 'Practitioner/pr1' },
    authoredOn: '2026-01-01',
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361' }] },
    dispenseRequest: { numberOfRepeatsAllowed: 1000, quantity: { value: 30, unit: 'tablet' } },
  }) as Resource;

const stored = (resource: Resource, versionId: number, extra: Record<string, unknown> = {}): StoredRecord => ({
  resourceType: resource.resourceType,
  id: resource.id!,
  versionId,
  lastUpdated: new Date().toISOString(),
  deleted: false,
  resource,
  index: { ...index.extract(resource), ...extra },
});

/** CPU milliseconds per call of `write(i)` over `writes` calls. */
async function cpuPerWrite(write: (i: number) => Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < writes; i++) await write(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / writes;
}

/** CPU milliseconds per call of `write(j)`, j in [0, n). */
async function cpuPerBlock(n: number, write: (j: number) => Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  for (let j = 0; j < n; j++) await write(j);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / n;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fhirgate-bench-derived-'));
  // As the server opens it (src/store/create-store.ts): the prescription's running total out of the value rows.
  const store: StorePort = createEmbeddedStore({ dir, unindexed: UNSEARCHED_KEYS });
  try {
    await store.open();
    for (let i = 0; i < writes; i++) {
      await store.commit([
        { record: stored(slot(i, 'free'), 1), expectedVersion: 0 },
        { record: stored(prescription(i), 1), expectedVersion: 0 },
      ]);
    }
    const create = await cpuPerWrite((i) => store.commit([{ record: stored(slot(writes + i, 'free'), 1), expectedVersion: 0 }]));
    const busy = await cpuPerWrite((i) => store.commit([{ record: stored(slot(i, 'busy'), 2), expectedVersion: 1 }]));
    // Hold keys: slots 2w.. keep theirs free and busy; slots 3w.. had none free and get theirs when busy (as before).
    const held = (i: number, status: string, keys: boolean): StoredRecord => {
      const resource = slot(i, status);
      return stored(resource, status === 'free' ? 1 : 2, { [HOLDS_KEY]: keys ? holdKeysOf(resource) : [] });
    };
    for (let i = 0; i < writes; i++) {
      await store.commit([
        { record: held(2 * writes + i, 'free', true), expectedVersion: 0 },
        { record: held(3 * writes + i, 'free', false), expectedVersion: 0 },
      ]);
    }
    const BLOCK = 100;
    let kept = 0;
    let added = 0;
    for (let b = 0; b < writes; b += BLOCK) {
      const n = Math.min(BLOCK, writes - b);
      const block = async (base: number): Promise<number> => (await cpuPerBlock(n, (j) => store.commit([{ record: held(base + b + j, 'busy', true), expectedVersion: 1 }]))) * n;
      // Alternating which goes first.
      if ((b / BLOCK) % 2 === 0) [kept, added] = [kept + (await block(2 * writes)), added + (await block(3 * writes))];
      else [added, kept] = [added + (await block(3 * writes)), kept + (await block(2 * writes))];
    }
    const tally = { workflow__dispensed: { fills: 1, quantity: 30, days: 30 } };
    const total = await cpuPerWrite((i) => store.commit([{ record: stored(prescription(i), 2, tally), expectedVersion: 1 }]));
    const fields = Object.keys(stored(slot(0, 'free'), 1).index!).length;
    console.log(`${writes} writes each; a Slot's index has ${fields} keys`);
    console.log(`cpu per commit: create a slot ${create.toFixed(3)} ms, slot free -> busy ${busy.toFixed(3)} ms, prescription total changed ${total.toFixed(3)} ms`);
    console.log(`slot free -> busy with hold keys: kept ${(kept / writes).toFixed(3)} ms, added ${(added / writes).toFixed(3)} ms`);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
