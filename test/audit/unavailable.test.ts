import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { patient } from '../bundles/support.js';
import { killHard, startChildServer } from '../support/child-server.js';
import { errorCode, fhirClient, type FhirResponse } from '../support/fhir-client.js';
import { eventsOf } from './support.js';

// The embedded store's files are what is made to fail; a child given MONGODB_URI would not use it.
describe.skipIf(Boolean(process.env.MONGODB_URI))('an access whose audit record cannot be written does not happen', () => {
  it.skipIf(process.platform === 'win32')('reads and writes answer 503 with no data once the audit trail cannot grow; what was answered was audited', { timeout: 180_000 }, async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-audit-full-'));
    // No file may grow past 4096 blocks (2 MiB): the store's WAL fills after a few hundred audited reads
    // (each read's event is one waiting row of ~1-2 pages, README "The audit trail"), hence the longer timeout.
    const child = await startChildServer(dataDir, { fileSizeLimitBlocks: 4096 });
    const fhir = fhirClient(child.fhirUrl);
    try {
      const created = await fhir.create({ ...patient('urn:full', '1'), name: [{ family: 'Unseen' }] } as any);
      let answered = 0;
      let refused: FhirResponse | undefined;
      for (let i = 0; i < 500 && !refused; i++) {
        const res = await fhir.get(`Patient/${created.id}`);
        if (res.status === 200) answered++;
        else refused = res;
      }
      expect(answered).toBeGreaterThan(3);
      expect(refused?.status).toBe(503);
      expect(refused?.body.resourceType).toBe('OperationOutcome');
      expect(errorCode(refused?.body)).toBe('store-unavailable');
      expect(refused?.text).not.toContain('Unseen');
      const write = await fhir.post('Patient', patient('urn:full', '2'));
      expect(write.status).toBe(503);
      await killHard(child);

      // After a restart: the refused write is not there, and every read that was answered has its AuditEvent.
      const again = await startChildServer(dataDir);
      const after = fhirClient(again.fhirUrl);
      try {
        expect((await after.get<Bundle>('Patient?identifier=urn:full|2')).body.total).toBe(0);
        const reads = eventsOf((await after.get<Bundle>(`AuditEvent?patient=Patient/${created.id}&subtype=read&_count=1000`)).body);
        expect(reads.filter((e) => e.outcome === '0')).toHaveLength(answered);
      } finally {
        await killHard(again);
      }
    } finally {
      if (child.process.exitCode === null && child.process.signalCode === null) await killHard(child);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
