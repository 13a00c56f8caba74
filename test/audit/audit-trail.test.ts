import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BREAK_GLASS_EXTENSION } from '../../src/audit/audit-event.js';
import { linkOf } from '../../src/audit/chain.js';
import { verifyAuditTrail } from '../../src/audit/verify.js';
import { fixtures, recordOf, seed } from '../auth/fixtures.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: FhirClient;
let d1: FhirClient;
let p1: FhirClient;

beforeAll(async () => {
  // The default AUDIT_SINK: `store`.
  server = await startServer();
  admin = fhirClient(server.fhirUrl);
  await seed(admin, [...recordOf('p1'), ...recordOf('p2'), fixtures.practitioner('d1')]);
  d1 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs', role: 'practitioner', fhirUser: 'Practitioner/d1' }) });
  p1 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.rs user/Consent.cruds', role: 'patient', fhirUser: 'Patient/p1' }) });
});
afterAll(() => server.destroy());

const events = (bundle: Bundle): AuditEvent[] => (bundle.entry ?? []).map((e) => e.resource as AuditEvent).filter((r) => r?.resourceType === 'AuditEvent');

describe('AuditEvent trail (IHE BALP)', () => {
  it('records who read what, from where, with which outcome; never the content', async () => {
    expect((await d1.get('MedicationRequest/p1-mr', { 'X-Purpose-Of-Use': 'TREAT' })).status).toBe(200);
    const found = events((await admin.get<Bundle>('AuditEvent?patient=Patient/p1&_count=1000')).body);
    const read = found.find((a) => a.subtype?.[0]?.code === 'read' && a.entity?.some((e) => e.what?.reference === 'MedicationRequest/p1-mr/_history/1'));
    expect(read).toBeDefined();
    expect(read!.action).toBe('R');
    expect(read!.outcome).toBe('0');
    expect(read!.agent?.[0]).toMatchObject({ requestor: true, who: { reference: 'Practitioner/d1' }, network: { type: '2' } });
    expect(read!.purposeOfEvent?.[0]?.coding?.[0]?.code).toBe('TREAT');
    expect(JSON.stringify(read)).not.toContain('amoxicillin');
    expect(linkOf(read!)).toBeDefined();
  });

  it('records refusals too', async () => {
    expect((await p1.get('Patient/p2')).status).toBe(403);
    const found = events((await admin.get<Bundle>('AuditEvent?patient=Patient/p2&_count=1000')).body);
    expect(found.some((a) => a.outcome === '4' && a.agent?.[0]?.who?.reference === 'Patient/p1')).toBe(true);
  });

  it('a patient sees who looked at their record, and only their record', async () => {
    await d1.get('Patient/p1');
    const mine = await p1.get<Bundle>('AuditEvent?patient=Patient/p1&_count=1000');
    expect(mine.status).toBe(200);
    expect(events(mine.body).some((a) => a.agent?.[0]?.who?.reference === 'Practitioner/d1')).toBe(true);
    // Searching by another patient is refused outright (issue 15), and what p1 sees never names p2.
    expect((await p1.get<Bundle>('AuditEvent?patient=Patient/p2&_count=1000')).status).toBe(403);
    expect(JSON.stringify(mine.body)).not.toContain('"Patient/p2');
  });

  it('sorts and pages the trail by a parameter whose sort values the embedded store keeps out of its index (issue 14)', async () => {
    await d1.get('Patient/p2');
    await p1.get('Patient/p1');
    // `subtype` sorts by its code; `outcome` tells refusals; the pages together are the whole trail of p1, in order.
    for (const [sort, keyOf] of [
      ['subtype', (a: AuditEvent) => a.subtype?.map((c) => c.code ?? '').sort()[0] ?? ''],
      ['-outcome', (a: AuditEvent) => a.outcome ?? ''],
    ] as const) {
      // Each search is itself audited (about p1, as it lists p1's trail): the pages hold at least the events before them, each once.
      const before = events((await admin.get<Bundle>('AuditEvent?patient=Patient/p1&_count=1000')).body);
      const seen: AuditEvent[] = [];
      for (let url: string | undefined = `AuditEvent?patient=Patient/p1&_sort=${sort}&_count=3`; url; ) {
        const page: { status: number; body: Bundle } = await admin.get<Bundle>(url);
        expect(page.status).toBe(200);
        seen.push(...events(page.body));
        const next: string | undefined = page.body.link?.find((l) => l.relation === 'next')?.url;
        url = next ? next.slice(next.indexOf('AuditEvent')) : undefined;
      }
      const ids = seen.map((a) => a.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining(before.map((a) => a.id)));
      const keys = seen.map(keyOf);
      const ordered = [...keys].sort();
      expect(keys).toEqual(sort.startsWith('-') ? ordered.reverse() : ordered);
    }
  });

  it('a search names each Patient it returned once, by version, and is found by patient, entity and entity-role (issue 14)', async () => {
    const page = await d1.get<Bundle>('Patient?_id=p1,p2');
    expect(page.status).toBe(200);
    const requestId = page.headers.get('x-request-id');
    const search = events((await admin.get<Bundle>('AuditEvent?subtype=search-type&_count=1000')).body).find((a) => a.entity?.some((e) => e.what?.identifier?.value === requestId))!;
    expect(search).toBeDefined();
    const patients = (search.entity ?? []).map((e) => e.what?.reference ?? '').filter((r) => r.startsWith('Patient/'));
    // Once each (no second, plain `Patient/p1`), as the patient entity (role Patient) of the version returned.
    expect(patients.map((r) => r.replace(/\/_history\/.*$/, '')).sort()).toEqual(['Patient/p1', 'Patient/p2']);
    expect(patients.every((r) => /\/_history\/\d+$/.test(r))).toBe(true);
    expect(search.entity!.filter((e) => e.what?.reference?.startsWith('Patient/')).every((e) => e.role?.code === '1' && e.type?.code === '1')).toBe(true);
    // The R4 `patient` and `entity` parameters read the versioned references as the resource.
    for (const query of ['patient=Patient/p1', 'patient=p2', 'entity=Patient/p1', 'entity-role=1&patient=Patient/p2']) {
      const found = events((await admin.get<Bundle>(`AuditEvent?${query}&subtype=search-type&_count=1000`)).body);
      expect(found.map((a) => a.id), query).toContain(search.id);
    }
  });

  it('AuditEvents cannot be updated, patched or deleted through the API, not even by a full-access client', async () => {
    const [one] = events((await admin.get<Bundle>('AuditEvent?patient=Patient/p1&_count=1000')).body).filter((e) => linkOf(e));
    const attempts = [
      await admin.put(`AuditEvent/${one.id}`, { ...one, outcome: '4' }),
      await admin.request('PATCH', `AuditEvent/${one.id}`, { raw: JSON.stringify([{ op: 'replace', path: '/outcome', value: '4' }]), headers: { 'Content-Type': 'application/json-patch+json' } }),
      await admin.delete(`AuditEvent/${one.id}`),
      await admin.put(`AuditEvent?patient=Patient/p1`, { ...one, outcome: '4' }),
      await admin.delete('AuditEvent?patient=Patient/p1'),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(405);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(errorCode(res.body)).toBe('method-not-allowed');
    }
    const after = await admin.get<AuditEvent>(`AuditEvent/${one.id}`);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(one);
  });

  it('a client may post its own AuditEvents, but not forge a chain link or a break-glass flag', async () => {
    const [one] = events((await admin.get<Bundle>('AuditEvent?patient=Patient/p1&_count=1000')).body).filter((e) => linkOf(e));
    const { id: _id, meta: _meta, ...copy } = one;
    const forged = await admin.post('AuditEvent', copy);
    expect([forged.status, errorCode(forged.body)]).toEqual([422, 'invalid-resource']);
    const flagged = await admin.post('AuditEvent', { ...copy, extension: [{ url: BREAK_GLASS_EXTENSION, valueBoolean: true }] });
    expect(flagged.status).toBe(422);
    // Without the server's extensions (dropped, not emptied: FHIR JSON has no `[]`, issue 20).
    const { extension: _serverOnly, ...unlinked } = copy;
    const own = await admin.post<AuditEvent>('AuditEvent', unlinked);
    expect(own.status).toBe(201);
    expect((await verifyAuditTrail(server.app.store, server.app.crypto.codec)).firstBreak).toBeUndefined();
  });

  it('the hash chain verifies, and an altered record is reported as the first break', async () => {
    const before = await verifyAuditTrail(server.app.store, server.app.crypto.codec);
    expect(before.firstBreak).toBeUndefined();
    expect(before.count).toBeGreaterThan(10);
    const records = await server.app.store.find('current', { resourceType: 'AuditEvent', deleted: false });
    const decoded = await Promise.all(records.map(async (r) => ({ record: r, event: (await server.app.crypto.codec.decode(r.resource!)) as AuditEvent })));
    const target = decoded.find((d) => linkOf(d.event)?.sequence === 5)!;
    const altered: AuditEvent = { ...target.event, outcome: '0', agent: [{ requestor: true, who: { reference: 'Practitioner/someone-else' } }] };
    await server.app.store.rewrite!([{ ...target.record, resource: await server.app.crypto.codec.encode(altered) }]);
    const after = await verifyAuditTrail(server.app.store, server.app.crypto.codec);
    expect(after.firstBreak).toMatchObject({ sequence: 5, id: target.event.id });
    expect(after.firstBreak?.reason).toMatch(/altered/);
  });
});
