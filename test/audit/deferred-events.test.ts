import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AuditEvent, Bundle, Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { verifyAuditTrail } from '../../src/audit/verify.js';
import type { StoredRecord } from '../../src/store/port.js';
import { runCli } from '../crypto/support.js';
import { killHard, startChildServer } from '../support/child-server.js';
import { fhirClient } from '../support/fhir-client.js';
import { startServer } from '../support/server.js';
import { deferredRecords, eventsOf } from './support.js';

const requestIdOf = (event: AuditEvent): string | undefined => event.entity?.find((e) => e.description === 'X-Request-Id')?.what?.identifier?.value;

/**
 * A read's AuditEvent is committed as one waiting row and indexed later in a batch (README "The
 * audit trail", src/store/embedded/deferred-writes.ts). These prove the guarantees through the
 * server: every acknowledged event survives a kill -9 while its row waits, and the chain stays whole.
 */
describe('AuditEvents of reads, waiting to be indexed', () => {
  it.skipIf(process.platform === 'win32')('survive kill -9 while they wait: after the restart search finds every acknowledged read and the chain verifies', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-deferred-'));
    try {
      const child = await startChildServer(dataDir);
      const fhir = fhirClient(child.fhirUrl);
      const created = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Waiting' }] });
      const acknowledged = new Set<string>();
      // Killed before the batch is moved (it waits up to 1 s): the last events are still rows of `deferred`.
      // Reads go on until some acknowledged ones are seen waiting (a batch may have just been moved).
      let waiting = false;
      for (let round = 0; !waiting && round < 20; round++) {
        const reads = await Promise.all(Array.from({ length: 4 }, () => fhir.get(`Patient/${created.id}`)));
        for (const r of reads) if (r.status === 200) acknowledged.add(r.headers.get('x-request-id')!);
        const pending = new Set((await deferredRecords(dataDir)).map((r) => requestIdOf(r.resource as AuditEvent)));
        waiting = round >= 4 && [...acknowledged].some((id) => pending.has(id));
      }
      await killHard(child);
      expect(waiting).toBe(true);
      const reads = acknowledged.size;
      expect(reads).toBeGreaterThanOrEqual(20);

      // npm run audit:verify on a copy of the folder as the kill left it: its store moves what waited, then the chain is walked.
      const copy = `${dataDir}-copy`;
      await cp(dataDir, copy, { recursive: true, filter: (file) => !file.endsWith('.sock') }); // not the dead server's control socket
      const verified = await runCli('audit-verify', [], { DATA_DIR: copy, HL7_MLLP_PORT: '0' }).finally(() => rm(copy, { recursive: true, force: true }));
      expect(verified.stdout, verified.stderr).toMatch(/Audit chain intact: \d+ AuditEvents verified/);
      expect(Number(/intact: (\d+)/.exec(verified.stdout)?.[1])).toBeGreaterThan(reads);
      expect(verified.code).toBe(0);

      const restarted = await startServer({}, dataDir);
      try {
        const check = fhirClient(restarted.fhirUrl);
        const found = await check.get<Bundle>(`AuditEvent?patient=Patient/${created.id}&subtype=read&_sort=-date&_count=100&_total=accurate`);
        expect(found.body.total).toBe(reads);
        expect(new Set(eventsOf(found.body).map(requestIdOf))).toEqual(acknowledged);
        const trail = await verifyAuditTrail(restarted.app.store, restarted.app.crypto.codec);
        expect(trail.firstBreak).toBeUndefined();
        expect(await deferredRecords(dataDir)).toEqual([]);
      } finally {
        await restarted.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('are found by every AuditEvent search right after the reads, paged and counted', async () => {
    const server = await startServer();
    try {
      const fhir = fhirClient(server.fhirUrl);
      const created = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Seen' }] });
      const reads = await Promise.all(Array.from({ length: 12 }, () => fhir.get(`Patient/${created.id}`)));
      const ids = new Set(reads.map((r) => r.headers.get('x-request-id')!));
      const query = `AuditEvent?entity=Patient/${created.id}&type=rest&subtype=read&date=ge2000-01-01&_sort=-date&_total=accurate&_count=5`;
      const seen: string[] = [];
      let page = (await fhir.get<Bundle>(query)).body;
      expect(page.total).toBe(12);
      for (;;) {
        seen.push(...eventsOf(page).map((e) => requestIdOf(e)!));
        const next = page.link?.find((l) => l.relation === 'next')?.url;
        if (!next) break;
        page = (await fhir.get<Bundle>(next.slice(server.fhirUrl.length + 1))).body;
      }
      expect(new Set(seen)).toEqual(ids);
      expect(seen).toHaveLength(12);
    } finally {
      await server.destroy();
    }
  });

  it('are in every history right after the read, as the same entry once indexed: instance, vread, type, system', { timeout: 60_000 }, async () => {
    const server = await startServer();
    try {
      const fhir = fhirClient(server.fhirUrl);
      const created = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'History' }] });
      // A read's event while it still waits (schema 6: its version stored, not yet current); reads go on until one is seen so.
      const waitingEvent = async (): Promise<StoredRecord> => {
        for (let round = 0; round < 10; round++) {
          const requestId = (await fhir.get(`Patient/${created.id}`)).headers.get('x-request-id');
          const waiting = (await deferredRecords(server.dataDir)).find((r) => requestIdOf(r.resource as AuditEvent) === requestId);
          if (waiting) return waiting;
        }
        throw new Error("no read's AuditEvent was seen waiting");
      };
      const queries: Record<string, (id: string) => string> = {
        instance: (id) => `AuditEvent/${id}/_history`,
        vread: (id) => `AuditEvent/${id}/_history/1`,
        type: () => 'AuditEvent/_history?_count=50',
        system: () => '_history?_count=50',
      };
      for (const [level, query] of Object.entries(queries)) {
        const event = await waitingEvent();
        const entryOf = (body: Bundle | AuditEvent): unknown => (body.resourceType === 'Bundle' ? body.entry?.find((e) => e.resource?.id === event.id) : body);
        const waiting = entryOf((await fhir.get<Bundle | AuditEvent>(query(event.id))).body) as { resource?: AuditEvent } | AuditEvent | undefined;
        // Asked again, the event has been made current and indexed (the first query moved it, if nothing had before).
        const indexed = entryOf((await fhir.get<Bundle | AuditEvent>(query(event.id))).body);
        expect(waiting, level).toBeDefined();
        expect(requestIdOf(waiting && 'resource' in waiting ? waiting.resource! : (waiting as AuditEvent)), level).toBe(requestIdOf(event.resource as AuditEvent));
        expect(waiting, level).toEqual(indexed);
      }
    } finally {
      await server.destroy();
    }
  });
});
