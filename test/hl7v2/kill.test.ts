import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { killHard, startChildServer, type ChildServer } from '../support/child-server.js';
import { fhirClient } from '../support/fhir-client.js';
import { freePort } from '../support/server.js';
import { ADT, ackCode, rawConnection } from './support.js';

interface Sent {
  message: string;
  mrn: string;
  family: string;
  acknowledged: boolean;
}

async function startWithMllp(dataDir: string): Promise<{ child: ChildServer; port: number }> {
  const port = await freePort();
  const child = await startChildServer(dataDir, { env: { HL7_MLLP_PORT: String(port) } });
  return { child, port };
}

/**
 * A sender on its own connection: one ADT^A01 after another, each sent once its predecessor's ACK
 * came (original mode), until the connection dies. Records what it sent and what was acknowledged.
 */
async function sender(port: number, name: string, sent: Sent[]): Promise<void> {
  const conn = await rawConnection(port);
  for (let i = 0; ; i++) {
    const mrn = `KILL-${name}-${i}`;
    const entry: Sent = { message: ADT(`${name}-${i}`, mrn, `Kill${name}x${i}`), mrn, family: `Kill${name}x${i}`, acknowledged: false };
    sent.push(entry);
    conn.send(entry.message);
    const ack = await conn.frame(i + 1, 60_000);
    if (ack === undefined) return; // the server died with this message in flight
    expect(ackCode(ack).code).toBe('AA');
    entry.acknowledged = true;
  }
}

describe('HL7 v2 feed across kill -9 (issue 19: exactly once)', () => {
  it('keeps every acknowledged message, and a sender resending after the crash creates no duplicate', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'fhirgate-hl7-kill-'));
    try {
      const first = await startWithMllp(dataDir);
      const sent: Sent[] = [];
      const senders = ['A', 'B', 'C', 'D'].map((name) => sender(first.port, name, sent));
      while (sent.filter((s) => s.acknowledged).length < 30) await new Promise((r) => setTimeout(r, 20));
      await killHard(first.child);
      await Promise.all(senders);

      const inFlight = sent.filter((s) => !s.acknowledged);
      const acknowledged = sent.filter((s) => s.acknowledged);
      expect(inFlight.length).toBeGreaterThan(0);

      const second = await startWithMllp(dataDir);
      try {
        // A sender that got no ACK resends; one unsure of its last ACKs resends those too.
        const resent = [...inFlight, ...acknowledged.slice(-8)];
        const conn = await rawConnection(second.port);
        for (const [n, entry] of resent.entries()) {
          conn.send(entry.message);
          expect(ackCode(await conn.frame(n + 1, 60_000)).code).toBe('AA');
        }
        conn.end();

        const fhir = fhirClient(second.child.fhirUrl);
        for (const entry of [...acknowledged, ...inFlight]) {
          const found = await fhir.get<Bundle<Patient>>(`Patient?identifier=${entry.mrn}&_total=accurate`);
          expect(found.status).toBe(200);
          expect(found.body.total, entry.mrn).toBe(1);
          const patient = found.body.entry![0].resource!;
          expect(patient.name?.[0]?.family).toBe(entry.family);
          // One version: neither the crash nor the resends wrote the Patient twice.
          expect(patient.meta?.versionId, entry.mrn).toBe('1');
        }
      } finally {
        await killHard(second.child);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});
