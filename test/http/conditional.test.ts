import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapabilityStatement, Patient } from '@medplum/fhirtypes';
import { startServer, type TestServer } from '../support/server.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';

let server: TestServer;
let fhir: FhirClient;

const patient = (value: string, extra: Partial<Patient> = {}): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: 'urn:mrn', value }],
  name: [{ family: 'Conditional' }],
  ...extra,
});

async function count(query: string): Promise<number> {
  return (await fhir.get(`Patient?_summary=count&${query}`)).body.total;
}

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

describe('conditional create (If-None-Exist)', () => {
  it('creates on no match (201), returns the match untouched (200), refuses several (412)', async () => {
    const first = await fhir.post('Patient', patient('cc-1'), { 'If-None-Exist': 'identifier=urn:mrn|cc-1' });
    expect(first.status).toBe(201);
    const again = await fhir.post('Patient', patient('cc-1', { active: true }), { 'If-None-Exist': 'identifier=urn:mrn|cc-1' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.active).toBeUndefined();
    expect(again.headers.get('etag')).toBe('W/"1"');
    await fhir.create(patient('cc-2'));
    await fhir.create(patient('cc-2'));
    const many = await fhir.post('Patient', patient('cc-2'), { 'If-None-Exist': 'identifier=urn:mrn|cc-2' });
    expect(many.status).toBe(412);
    expect(errorCode(many.body)).toBe('precondition-failed');
  });

  it('refuses criteria it cannot apply rather than ignoring them', async () => {
    const res = await fhir.post('Patient', patient('cc-3'), { 'If-None-Exist': 'unknown-param=1' });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(await count('identifier=urn:mrn|cc-3')).toBe(0);
  });

  it('two clients racing to create the same identifier create exactly one resource', async () => {
    for (let round = 0; round < 3; round++) {
      const value = `race-${round}`;
      const results = await Promise.all(
        Array.from({ length: 12 }, () => fhir.post('Patient', patient(value), { 'If-None-Exist': `identifier=urn:mrn|${value}` })),
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      expect(results.filter((r) => r.status === 200)).toHaveLength(11);
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      expect(await count(`identifier=urn:mrn|${value}`)).toBe(1);
    }
  });

  it('racing conditional updates and creates on the same criteria also create exactly one', async () => {
    const value = 'race-mixed';
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? fhir.put(`Patient?identifier=urn:mrn|${value}`, patient(value, { birthDate: `19${50 + i}-01-01` }))
          : fhir.post('Patient', patient(value), { 'If-None-Exist': `identifier=urn:mrn|${value}` }),
      ),
    );
    expect(results.every((r) => r.status === 200 || r.status === 201)).toBe(true);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(await count(`identifier=urn:mrn|${value}`)).toBe(1);
  });
});

describe('conditional update (PUT [type]?criteria)', () => {
  it('creates on no match (201, new id or the body id), updates one match (200), refuses several (412)', async () => {
    const created = await fhir.put('Patient?identifier=urn:mrn|cu-1', patient('cu-1'));
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.headers.get('location')).toContain(`/Patient/${created.body.id}/_history/1`);
    const updated = await fhir.put('Patient?identifier=urn:mrn|cu-1', patient('cu-1', { active: true }));
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id: created.body.id, active: true, meta: { versionId: '2' } });
    const withId = await fhir.put('Patient?identifier=urn:mrn|cu-2', { ...patient('cu-2'), id: 'cu-2-client' });
    expect(withId.status).toBe(201);
    expect(withId.body.id).toBe('cu-2-client');
    await fhir.create(patient('cu-3'));
    await fhir.create(patient('cu-3'));
    const many = await fhir.put('Patient?identifier=urn:mrn|cu-3', patient('cu-3'));
    expect(many.status).toBe(412);
  });

  it('a body id other than the match is a 400; If-Match applies to the match', async () => {
    const created = await fhir.create(patient('cu-4'));
    const mismatch = await fhir.put('Patient?identifier=urn:mrn|cu-4', { ...patient('cu-4'), id: 'someone-else' });
    expect(mismatch.status).toBe(400);
    expect(errorCode(mismatch.body)).toBe('id-mismatch');
    const stale = await fhir.put('Patient?identifier=urn:mrn|cu-4', patient('cu-4'), { 'If-Match': 'W/"9"' });
    expect(stale.status).toBe(412);
    const fresh = await fhir.put('Patient?identifier=urn:mrn|cu-4', { ...patient('cu-4'), id: created.id }, { 'If-Match': 'W/"1"' });
    expect(fresh.status).toBe(200);
  });

  it('needs criteria', async () => {
    const res = await fhir.put('Patient', patient('cu-5'));
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});

describe('conditional delete (DELETE [type]?criteria)', () => {
  it('deletes one match, answers 200 for none, refuses several by default (412)', async () => {
    const one = await fhir.create(patient('cd-1'));
    const res = await fhir.delete('Patient?identifier=urn:mrn|cd-1');
    expect(res.status).toBe(200);
    expect((await fhir.get(`Patient/${one.id}`)).status).toBe(410);
    expect((await fhir.delete('Patient?identifier=urn:mrn|cd-none')).status).toBe(200);
    await fhir.create(patient('cd-2'));
    await fhir.create(patient('cd-2'));
    const many = await fhir.delete('Patient?identifier=urn:mrn|cd-2');
    expect(many.status).toBe(412);
    expect(await count('identifier=urn:mrn|cd-2')).toBe(2);
  });

  it('deletes every match at once with FHIR_CONDITIONAL_DELETE_MULTIPLE=true, and says so in the CapabilityStatement', async () => {
    const multi = await startServer({ FHIR_CONDITIONAL_DELETE_MULTIPLE: 'true' });
    try {
      const client = fhirClient(multi.fhirUrl);
      for (let i = 0; i < 3; i++) await client.create(patient('cd-3'));
      const res = await client.delete('Patient?identifier=urn:mrn|cd-3');
      expect(res.status).toBe(200);
      expect((await client.get('Patient?_summary=count&identifier=urn:mrn|cd-3')).body.total).toBe(0);
      const history = await client.get('Patient/_history');
      expect(history.body.entry.filter((e: any) => e.request.method === 'DELETE')).toHaveLength(3);
      const cs = (await client.get<CapabilityStatement>('metadata')).body;
      expect(cs.rest![0].resource!.find((r) => r.type === 'Patient')!.conditionalDelete).toBe('multiple');
    } finally {
      await multi.destroy();
    }
  });
});

describe('capabilities', () => {
  it('advertises conditional create, update and delete, patch, batch, transaction and system history', async () => {
    const cs = (await fhir.get<CapabilityStatement>('metadata')).body;
    const patientCaps = cs.rest![0].resource!.find((r) => r.type === 'Patient')!;
    expect(patientCaps).toMatchObject({ conditionalCreate: true, conditionalUpdate: true, conditionalDelete: 'single' });
    expect(patientCaps.interaction!.map((i) => i.code)).toContain('patch');
    const audit = cs.rest![0].resource!.find((r) => r.type === 'AuditEvent')!;
    expect(audit).toMatchObject({ conditionalUpdate: false, conditionalDelete: 'not-supported' });
    expect(audit.interaction!.map((i) => i.code)).not.toContain('patch');
    expect(cs.rest![0].interaction!.map((i) => i.code)).toEqual(['transaction', 'batch', 'history-system']);
  });
});
