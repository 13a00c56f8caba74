import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Patient } from '@medplum/fhirtypes';
import { startServer } from '../support/server.js';
import { fhirClient } from '../support/fhir-client.js';
import { killHard, startChildServer } from '../support/child-server.js';

describe('embedded store durability through the server', () => {
  it('keeps every version across a clean restart', async () => {
    let server = await startServer();
    try {
      const fhir = fhirClient(server.fhirUrl);
      const created = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Durable' }] });
      await fhir.put(`Patient/${created.id}`, { ...created, active: true });
      const gone = await fhir.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Gone' }] });
      await fhir.delete(`Patient/${gone.id}`);
      server = await server.restart();
      const again = fhirClient(server.fhirUrl);
      const read = await again.get<Patient>(`Patient/${created.id}`);
      expect(read.body.active).toBe(true);
      expect(read.body.meta!.versionId).toBe('2');
      expect((await again.get(`Patient/${created.id}/_history/1`)).body.active).toBeUndefined();
      expect((await again.get(`Patient/${gone.id}`)).status).toBe(410);
      // Versions continue after the restart.
      expect((await again.put(`Patient/${created.id}`, read.body)).body.meta.versionId).toBe('3');
    } finally {
      await server.destroy();
    }
  });

  it('loses no acknowledged write when the process is killed with SIGKILL mid-load', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-kill-'));
    try {
      for (let round = 0; round < 2; round++) {
        const child = await startChildServer(dataDir);
        const fhir = fhirClient(child.fhirUrl);
        const acknowledged: Array<{ id: string; family: string }> = [];
        let stop = false;
        const writer = async (w: number): Promise<void> => {
          for (let i = 0; !stop; i++) {
            const family = `R${round}W${w}N${i}`;
            try {
              const res = await fhir.post('Patient', { resourceType: 'Patient', name: [{ family }] });
              if (res.status === 201) acknowledged.push({ id: res.body.id, family });
            } catch {
              return; // connection cut by the kill: that write was never acknowledged
            }
          }
        };
        const writers = Array.from({ length: 8 }, (_, w) => writer(w));
        while (acknowledged.length < 150) await new Promise((r) => setTimeout(r, 10));
        await killHard(child);
        stop = true;
        await Promise.all(writers);

        const restarted = await startServer({}, dataDir);
        try {
          const check = fhirClient(restarted.fhirUrl);
          for (const { id, family } of acknowledged) {
            const read = await check.get<Patient>(`Patient/${id}`);
            expect(read.status, `acknowledged Patient/${id} lost`).toBe(200);
            expect(read.body.name![0].family).toBe(family);
          }
        } finally {
          await restarted.stop();
        }
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
