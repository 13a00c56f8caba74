import type { Bundle, Medication, MedicationRequest } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { AMOXICILLIN, dispense, IBUPROFEN, prescription, seed, userClient } from './support.js';

let server: TestServer;
let backend: FhirClient;
let pharmacist: FhirClient;
let doctor: FhirClient;
let n = 0;
const fresh = (prefix: string): string => `${prefix}-${++n}`;

beforeAll(async () => {
  server = await startServer();
  backend = fhirClient(server.fhirUrl);
  await seed(
    backend,
    { resourceType: 'Patient', id: 'p1', name: [{ family: 'One' }] },
    { resourceType: 'Patient', id: 'p2', name: [{ family: 'Two' }] },
    { resourceType: 'Practitioner', id: 'd1', name: [{ family: 'Doctor' }] },
    { resourceType: 'Practitioner', id: 'ph1', name: [{ family: 'Pharmacist' }] },
  );
  pharmacist = await userClient(server, 'pharmacist', 'Practitioner/ph1');
  doctor = await userClient(server, 'practitioner', 'Practitioner/d1');
});
afterAll(() => server.destroy());

async function newPrescription(extra: Partial<MedicationRequest> = {}): Promise<string> {
  const id = fresh('rx');
  await seed(backend, prescription(id, 'p1', extra));
  return id;
}

describe('a pharmacist dispensing (issue 17, item 1)', () => {
  it.each(['stopped', 'cancelled', 'completed', 'entered-in-error', 'draft', 'on-hold'] as const)('refuses a dispense against a %s prescription: 409 prescription-not-active', async (status) => {
    const rx = await newPrescription({ status });
    const res = await pharmacist.post('MedicationDispense', dispense(rx, 'p1'));
    expect(res.status).toBe(409);
    expect(errorCode(res.body)).toBe('prescription-not-active');
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it.each([
    ['a prescription that does not exist', (rx: string) => dispense(`${rx}-missing`, 'p1'), 409, 'prescription-not-found'],
    ['no authorizingPrescription', (rx: string) => ({ ...dispense(rx, 'p1'), authorizingPrescription: undefined }), 409, 'prescription-not-found'],
    ['another patient', (rx: string) => dispense(rx, 'p2'), 422, 'prescription-mismatch'],
    ['another drug', (rx: string) => dispense(rx, 'p1', 30, { medicationCodeableConcept: IBUPROFEN }), 422, 'prescription-mismatch'],
    ['500 units of 2 × 30 prescribed', (rx: string) => dispense(rx, 'p1', 500), 409, 'prescription-exhausted'],
    ['another unit', (rx: string) => dispense(rx, 'p1', 1, { quantity: { value: 1, unit: 'box' } }), 422, 'prescription-mismatch'],
    ['a hand-over after the validity period', (rx: string) => dispense(rx, 'p1', 30, { whenHandedOver: '2031-01-01T10:00:00Z' }), 409, 'prescription-expired'],
    ['a supply of 60 days of 2 × 20', (rx: string) => dispense(rx, 'p1', 30, { daysSupply: { value: 60, unit: 'day', system: 'http://unitsofmeasure.org', code: 'd' } }), 409, 'prescription-exhausted'],
  ])('refuses a dispense with %s', async (_what, body, status, code) => {
    const rx = await newPrescription({
      dispenseRequest: {
        numberOfRepeatsAllowed: 1,
        quantity: { value: 30, unit: 'capsule', system: 'http://unitsofmeasure.org', code: '{capsule}' },
        validityPeriod: { start: '2020-01-01', end: '2030-12-31' },
        expectedSupplyDuration: { value: 20, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' },
      },
    });
    const res = await pharmacist.post('MedicationDispense', body(rx));
    expect(res.status, res.text).toBe(status);
    expect(errorCode(res.body)).toBe(code);
    // Nothing was stored, and the prescription did not move.
    const stored = await backend.get<Bundle>(`MedicationDispense?prescription=MedicationRequest/${rx}`);
    expect(stored.body.total ?? stored.body.entry?.length ?? 0).toBe(0);
    expect((await backend.get(`MedicationRequest/${rx}`)).body.meta.versionId).toBe('1');
  });

  it('counts fills: the last one completes the prescription in the same commit, a further fill is refused', async () => {
    const rx = await newPrescription(); // 1 + 1 repeat
    const first = await pharmacist.post('MedicationDispense', dispense(rx, 'p1', 30));
    expect(first.status, first.text).toBe(201);
    const afterFirst = (await backend.get<MedicationRequest>(`MedicationRequest/${rx}`)).body;
    expect(afterFirst.status).toBe('active');
    expect(afterFirst.meta?.versionId).toBe('2');
    // Version 2 kept version 1's search values as they were stored (WriteOp.sameSearchValues): searches see it as it is.
    const found = async (status: string): Promise<number> => (await backend.get<Bundle>(`MedicationRequest?_id=${rx}&status=${status}&subject=Patient/p1`)).body.entry?.length ?? 0;
    expect([await found('active'), await found('completed')]).toEqual([1, 0]);
    expect((await pharmacist.post('MedicationDispense', dispense(rx, 'p1', 30))).status).toBe(201);
    const afterLast = (await backend.get<MedicationRequest>(`MedicationRequest/${rx}`)).body;
    expect(afterLast.status).toBe('completed');
    expect([await found('active'), await found('completed')]).toEqual([0, 1]);
    const third = await pharmacist.post('MedicationDispense', dispense(rx, 'p1', 1));
    expect(third.status).toBe(409);
    expect(errorCode(third.body)).toBe('prescription-not-active');
  });

  it('completes the prescription when its total quantity is reached before the last fill', async () => {
    const rx = await newPrescription({ dispenseRequest: { numberOfRepeatsAllowed: 3, quantity: { value: 10, unit: 'capsule', code: '{capsule}', system: 'http://unitsofmeasure.org' } } });
    expect((await pharmacist.post('MedicationDispense', dispense(rx, 'p1', 25))).status).toBe(201);
    expect((await backend.get(`MedicationRequest/${rx}`)).body.status).toBe('active');
    const over = await pharmacist.post('MedicationDispense', dispense(rx, 'p1', 16));
    expect(errorCode(over.body)).toBe('prescription-exhausted');
    expect((await pharmacist.post('MedicationDispense', dispense(rx, 'p1', 15))).status).toBe(201);
    expect((await backend.get(`MedicationRequest/${rx}`)).body.status).toBe('completed');
  });

  it('lets a dispense in preparation wait for nothing, and counts it once it is completed (an update)', async () => {
    const rx = await newPrescription({ dispenseRequest: { numberOfRepeatsAllowed: 0 } });
    const prepared = await pharmacist.post('MedicationDispense', dispense(rx, 'p1', 30, { status: 'preparation' }));
    expect(prepared.status).toBe(201);
    expect((await backend.get(`MedicationRequest/${rx}`)).body.meta.versionId).toBe('1');
    const done = await pharmacist.put(`MedicationDispense/${prepared.body.id}`, { ...prepared.body, status: 'completed' });
    expect(done.status, done.text).toBe(200);
    expect((await backend.get(`MedicationRequest/${rx}`)).body.status).toBe('completed');
    // Correcting the dispense that completed it is not a new fill.
    const corrected = await pharmacist.put(`MedicationDispense/${prepared.body.id}`, { ...done.body, note: [{ text: 'label reprinted' }] });
    expect(corrected.status, corrected.text).toBe(200);
  });

  it('matches a coded order with a dispense of a Medication resource of that code', async () => {
    const rx = await newPrescription();
    const medication = await backend.create<Medication>({ resourceType: 'Medication', code: AMOXICILLIN });
    const res = await pharmacist.post('MedicationDispense', dispense(rx, 'p1', 30, { medicationCodeableConcept: undefined, medicationReference: { reference: `Medication/${medication.id}` } }));
    expect(res.status, res.text).toBe(201);
  });

  it('never over-dispenses with racing pharmacists: 3 fills, 12 concurrent dispenses, exactly 3 stored', async () => {
    const rx = await newPrescription({ dispenseRequest: { numberOfRepeatsAllowed: 2 } });
    const clients = await Promise.all(Array.from({ length: 4 }, (_, i) => userClient(server, 'pharmacist', `Practitioner/ph${i}`)));
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => clients[i % 4].post('MedicationDispense', dispense(rx, 'p1', 30))));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s !== 201).every((s) => s === 409)).toBe(true);
    for (const refused of results.filter((r) => r.status === 409)) expect(['prescription-not-active', 'prescription-exhausted', 'version-conflict']).toContain(errorCode(refused.body));
    const stored = await backend.get<Bundle>(`MedicationDispense?prescription=MedicationRequest/${rx}&_count=100`);
    expect(stored.body.entry).toHaveLength(3);
    expect((await backend.get(`MedicationRequest/${rx}`)).body.status).toBe('completed');
  });

  it('applies to transactions: two fills of a one-fill prescription in one Bundle fail it whole', async () => {
    const rx = await newPrescription({ dispenseRequest: { numberOfRepeatsAllowed: 0 } });
    const entry = (q: number) => ({ resource: dispense(rx, 'p1', q), request: { method: 'POST', url: 'MedicationDispense' } });
    const res = await backend.post('', { resourceType: 'Bundle', type: 'transaction', entry: [entry(10), entry(10)] });
    expect(res.status, res.text).toBe(409);
    expect(errorCode(res.body)).toBe('prescription-not-active');
    expect((await backend.get(`MedicationRequest/${rx}`)).body.meta.versionId).toBe('1');
    const one = await backend.post('', { resourceType: 'Bundle', type: 'transaction', entry: [entry(10)] });
    expect(one.status, one.text).toBe(200);
    expect((await backend.get(`MedicationRequest/${rx}`)).body.status).toBe('completed');
  });

  it('a prescription and its first dispense in one transaction', async () => {
    const rx = fresh('rx');
    const res = await backend.post('', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: prescription(rx, 'p1'), request: { method: 'PUT', url: `MedicationRequest/${rx}` } },
        { resource: { ...dispense(rx, 'p1', 30), id: `${rx}-d1` }, request: { method: 'PUT', url: `MedicationDispense/${rx}-d1` } },
      ],
    });
    expect(res.status, res.text).toBe(200);
    const stored = (await backend.get(`MedicationRequest/${rx}`)).body;
    expect(stored.status).toBe('active');
    expect(stored.meta.versionId).toBe('1');
  });
});

describe('who prescribes (issue 17, item 1)', () => {
  it.each([
    ['a practitioner in their own name', () => doctor, 'Practitioner/d1', 201],
    ['a practitioner in a colleague\'s name', () => doctor, 'Practitioner/d2', 422],
    ['a backend service relaying an order', () => backend, 'Practitioner/d2', 201],
  ])('%s', async (_what, client, requester, status) => {
    const { id: _id, ...body } = prescription('x', 'p1', { requester: { reference: requester } });
    const res = await client().post('MedicationRequest', body);
    expect(res.status, res.text).toBe(status);
    if (status === 422) expect(errorCode(res.body)).toBe('requester-mismatch');
  });

  it('a colleague may stop a prescription without becoming its requester', async () => {
    const rx = await newPrescription({ requester: { reference: 'Practitioner/d9' } });
    const current = (await doctor.get(`MedicationRequest/${rx}`)).body;
    expect((await doctor.put(`MedicationRequest/${rx}`, { ...current, status: 'stopped' })).status).toBe(200);
  });
});
