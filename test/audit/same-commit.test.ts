import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkOf } from '../../src/audit/chain.js';
import { verifyAuditTrail } from '../../src/audit/verify.js';
import type { StoredRecord } from '../../src/store/port.js';
import { bundleOf, medicationRequest, patient, post } from '../bundles/support.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { eventsOf, journalCommits } from './support.js';

let server: TestServer;
let fhir: FhirClient;

// The default AUDIT_SINK: `store`.
beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

/** The commit that made `Type/id` version `v` durable, and the AuditEvents in it. */
async function commitOf(type: string, id: string, versionId: number): Promise<{ records: StoredRecord[]; events: AuditEvent[] }> {
  // A write's AuditEvent is a version of the write's commit (`versions.txn`), current yet or still deferred (issue 14).
  const commits = await journalCommits(server.dataDir);
  const records = commits.find((c) => c.some((r) => r.resourceType === type && r.id === id && r.versionId === versionId));
  if (!records) throw new Error(`${type}/${id}/_history/${versionId} is in no commit`);
  return { records, events: records.filter((r) => r.resourceType === 'AuditEvent').map((r) => r.resource as AuditEvent) };
}

const names = (event: AuditEvent, reference: string): boolean => event.entity?.some((e) => e.what?.reference === reference) ?? false;
const interaction = (event: AuditEvent): string | undefined => event.subtype?.[0]?.code;

describe('a write and its AuditEvent are one commit', () => {
  it('create, update, patch, delete and conditional create: the data never exists without its audit record', async () => {
    const created = await fhir.post('Patient', patient('urn:same', '1'));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await fhir.put(`Patient/${id}`, { ...created.body, gender: 'male' })).status).toBe(200);
    const patched = await fhir.request('PATCH', `Patient/${id}`, { raw: JSON.stringify([{ op: 'replace', path: '/gender', value: 'other' }]), headers: { 'Content-Type': 'application/json-patch+json' } });
    expect(patched.status).toBe(200);
    expect((await fhir.delete(`Patient/${id}`)).status).toBe(200);
    const conditional = await fhir.post('Patient', patient('urn:same', '2'), { 'If-None-Exist': 'identifier=urn:same|2' });
    expect(conditional.status).toBe(201);

    const expected: Array<[string, number, string]> = [[id, 1, 'create'], [id, 2, 'update'], [id, 3, 'patch'], [id, 4, 'delete'], [conditional.body.id, 1, 'create']];
    for (const [target, version, kind] of expected) {
      const { records, events } = await commitOf('Patient', target, version);
      expect(records).toHaveLength(2);
      expect(events).toHaveLength(1);
      expect(interaction(events[0])).toBe(kind);
      expect(events[0].outcome).toBe('0');
      expect(names(events[0], `Patient/${target}/_history/${version}`)).toBe(true);
      expect(linkOf(events[0])).toBeDefined();
    }
    // Recorded once: not a second time by the pipeline after the commit.
    const about = eventsOf((await fhir.get<Bundle>(`AuditEvent?patient=Patient/${id}&_count=100`)).body);
    expect(about.filter((e) => interaction(e) === 'update' && names(e, `Patient/${id}/_history/2`))).toHaveLength(1);
  });

  it("a transaction's entries and the transaction itself are audited in the transaction's commit", async () => {
    const res = await fhir.post('', bundleOf('transaction', [post(patient('urn:same-tx', '1'), 'urn:uuid:8d1c3f3e-0b4e-4c1e-9a41-2f5b0f5f0a01'), post(medicationRequest('urn:uuid:8d1c3f3e-0b4e-4c1e-9a41-2f5b0f5f0a01'))]));
    expect(res.status).toBe(200);
    const [pid, mrid] = res.body.entry.map((e: any) => e.response.location.split('/')[1]);
    const { records, events } = await commitOf('Patient', pid, 1);
    expect(records.some((r) => r.resourceType === 'MedicationRequest' && r.id === mrid)).toBe(true);
    expect(events.map(interaction).sort()).toEqual(['create', 'create', 'transaction']);
    const transaction = events.find((e) => interaction(e) === 'transaction')!;
    // The Patient it wrote, by its version (issue 14: not a second time as a plain `Patient/id`; `patient=` finds either).
    expect(names(transaction, `Patient/${pid}/_history/1`)).toBe(true);
    expect(names(events.find((e) => names(e, `MedicationRequest/${mrid}/_history/1`))!, `Patient/${pid}`)).toBe(true);
  });

  it('a write that fails stores nothing and is audited as a failure; the chain stays whole', async () => {
    const created = await fhir.create(patient('urn:same', '3') as any);
    const stale = await fhir.put(`Patient/${created.id}`, { ...created, gender: 'male' }, { 'If-Match': 'W/"7"' });
    expect(stale.status).toBe(412);
    expect((await fhir.get(`Patient/${created.id}`)).body.meta.versionId).toBe('1');
    const failures = eventsOf((await fhir.get<Bundle>(`AuditEvent?patient=Patient/${created.id}&outcome=4`)).body);
    expect(failures.map((e) => [interaction(e), e.outcomeDesc])).toEqual([['update', 'precondition-failed']]);
    const trail = await verifyAuditTrail(server.app.store, server.app.crypto.codec);
    expect(trail.firstBreak).toBeUndefined();
  });

  it('concurrent writers racing on one resource are retried; every write has exactly one AuditEvent, in one gap-free chain', async () => {
    const created = await fhir.create(patient('urn:same', '4') as any);
    const updates = await Promise.all(Array.from({ length: 8 }, (_, i) => fhir.put(`Patient/${created.id}`, { ...created, name: [{ family: `Racer${i}` }] })));
    expect(updates.map((u) => u.status)).toEqual(Array(8).fill(200));
    for (let version = 2; version <= 9; version++) {
      const { events } = await commitOf('Patient', created.id!, version);
      expect(events.map(interaction)).toEqual(['update']);
    }
    const trail = await verifyAuditTrail(server.app.store, server.app.crypto.codec);
    expect(trail.firstBreak).toBeUndefined();
    const chained = (await server.app.store.find('current', { resourceType: 'AuditEvent' })).filter((r) => linkOf(r.resource as AuditEvent));
    expect(trail.count).toBe(chained.length);
  });

  it('concurrent reads: each AuditEvent is durable before its response, and an AuditEvent search right after finds them all', async () => {
    const created = await fhir.create(patient('urn:same', '5') as any);
    const reads = await Promise.all(Array.from({ length: 40 }, () => fhir.get(`Patient/${created.id}`)));
    expect(reads.every((r) => r.status === 200)).toBe(true);
    const requestIds = new Set(reads.map((r) => r.headers.get('x-request-id')!));
    // Read from the file before anything searches: each event's version is written by its commit, current yet or still deferred (schema 6).
    const stored = (await journalCommits(server.dataDir)).flat().filter(
      (r) => r.resourceType === 'AuditEvent' && (r.resource as AuditEvent).entity?.some((e) => requestIds.has(e.what?.identifier?.value ?? '')),
    );
    expect(stored.map((r) => interaction(r.resource as AuditEvent))).toEqual(Array(40).fill('read'));
    const found = await fhir.get<Bundle>(`AuditEvent?patient=Patient/${created.id}&subtype=read&_sort=-date&_total=accurate&_count=100`);
    expect(found.body.total).toBe(40);
    expect(new Set(eventsOf(found.body).flatMap((e) => e.entity?.map((x) => x.what?.identifier?.value) ?? []).filter((v) => requestIds.has(v!))).size).toBe(40);
    expect((await verifyAuditTrail(server.app.store, server.app.crypto.codec)).firstBreak).toBeUndefined();
  });
});
