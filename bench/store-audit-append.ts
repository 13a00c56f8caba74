/**
 * Micro-benchmark of the durable AuditEvent of a read, in the embedded store, outside the HTTP
 * stack (issue 14):
 *   npx tsx bench/store-audit-append.ts [seconds] [concurrency]
 * `concurrency` requests (default 16) each append one read's AuditEvent through the chain writer
 * (link, search values, commit, WAL fsync), as the server's audit sink does, with AuditEvent
 * creates deferred and their sort scalars unindexed as the server configures the store; the pending rows are moved as they fall
 * due. Prints events/s, the process's CPU per event (main thread and the fsync thread) and the
 * bytes it wrote per event, the moves included. Compare only runs made back to back on the same machine.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '@medplum/fhirtypes';
import { createChainWriter } from '../src/audit/chain-writer.js';
import { identityCodec } from '../src/fhir/codec.js';
import { r4Definitions } from '../src/fhir/definitions.js';
import { createSearchIndex } from '../src/search/index/index.js';
import { unindexedKeys } from '../src/search/index/value-index-plan.js';
import { createEmbeddedStore } from '../src/store/embedded/index.js';

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 16);

/** X-Request-Id as the HTTP edge makes one (src/http/middleware.ts), or time-ordered (BENCH_REQUEST_IDS=ordered: a UUIDv7-like id, for comparison). */
const requestId = process.env.BENCH_REQUEST_IDS === 'ordered' ? (): string => `${Date.now().toString(16).padStart(12, '0')}${randomUUID().slice(12)}` : randomUUID;

/** A read's AuditEvent as audit-event.ts builds it (a user token, one patient read). */
function readEvent(n: number): AuditEvent {
  return {
    resourceType: 'AuditEvent',
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
    action: 'R',
    recorded: new Date().toISOString(),
    outcome: '0',
    agent: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser', display: 'human user' }] },
        who: { reference: 'Practitioner/bench-practitioner', identifier: { system: 'https://fhirgate.dev/sub', value: 'bench-user' } },
        requestor: true,
        role: [{ coding: [{ system: 'https://fhirgate.dev/roles', code: 'clinician' }] }],
        network: { address: '127.0.0.1', type: '2' },
      },
      { type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110150', display: 'Application' }] }, who: { identifier: { system: 'https://fhirgate.dev/client', value: 'bench-client' } }, requestor: false },
    ],
    source: { observer: { display: 'https://fhir.example.org/fhir' }, type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }] },
    entity: [
      { what: { reference: `Patient/p${n % 1000}` }, type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' }, role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' } },
      { what: { identifier: { value: requestId() } }, description: 'X-Request-Id' },
    ],
  };
}

/** Bytes the process has written through system calls (Linux `/proc/self/io` wchar); -1 elsewhere. Unlike CPU time, not disturbed by a busy machine. */
function bytesWritten(): number {
  try {
    return Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? -1);
  } catch {
    return -1;
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fhirgate-bench-audit-'));
  const resourceTypes = ['AuditEvent', 'Patient'];
  const searchIndex = createSearchIndex({ definitions: r4Definitions(), resourceTypes });
  // As the server configures it (store/create-store.ts): AuditEvents deferred, their sort scalars but `date` without value rows.
  const unindexed = unindexedKeys({ resourceTypes, params: (type) => searchIndex.params(type) });
  const store = createEmbeddedStore({ dir, deferredTypes: ['AuditEvent'], unindexed });
  const chain = createChainWriter({ store, codec: identityCodec, searchIndex, clock: () => new Date() });
  try {
    await store.open();
    let next = 0;
    const run = async (ms: number): Promise<number> => {
      let done = 0;
      const until = performance.now() + ms;
      const worker = async (): Promise<void> => {
        while (performance.now() < until) {
          await chain.append([], [readEvent(next++)]);
          done++;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return done;
    };
    await run(1000); // warm-up: compiled statements, the chain's tail, the first moves
    const written = bytesWritten();
    const cpu = process.cpuUsage();
    const start = performance.now();
    const events = await run(seconds * 1000);
    // The pending rows of the measured events are moved inside the measure too.
    await store.find('current', { resourceType: 'AuditEvent', id: 'none' });
    const elapsed = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const bytes = bytesWritten() - written;
    console.log(`| measure (${concurrency} concurrent, ${events} events) | value |\n|---|---|`);
    console.log(`| events/s | ${(events / elapsed).toFixed(0)} |`);
    console.log(`| CPU per event (user + system) | ${((used.user + used.system) / events / 1000).toFixed(3)} ms |`);
    console.log(`| of which user | ${(used.user / events / 1000).toFixed(3)} ms |`);
    if (bytes >= 0) console.log(`| bytes written per event (WAL, checkpoints) | ${(bytes / events / 1024).toFixed(1)} KiB |`);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
