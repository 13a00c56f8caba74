import type { MedicationDispense, MedicationRequest } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Filter } from '../../src/store/port.js';
import { TALLY_KEY } from '../../src/workflow/dispense-tally.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { withDatabase } from '../store/embedded-support.js';
import { dispense, prescription, seed, userClient } from './support.js';

let server: TestServer;
let backend: FhirClient;
let pharmacist: FhirClient;
let n = 0;

beforeAll(async () => {
  server = await startServer();
  backend = fhirClient(server.fhirUrl);
  await seed(backend, { resourceType: 'Patient', id: 'p1', name: [{ family: 'One' }] }, { resourceType: 'Practitioner', id: 'd1', name: [{ family: 'Doctor' }] });
  pharmacist = await userClient(server, 'pharmacist', 'Practitioner/ph1');
});
afterAll(() => server.destroy());

async function newPrescription(repeats: number, perFill = 30): Promise<string> {
  const id = `tally-${++n}`;
  await seed(backend, prescription(id, 'p1', { dispenseRequest: { numberOfRepeatsAllowed: repeats, quantity: { value: perFill, unit: 'capsule', system: 'http://unitsofmeasure.org', code: '{capsule}' } } }));
  return id;
}

async function dispenseOk(rx: string, quantity: number): Promise<MedicationDispense & { id: string }> {
  const res = await pharmacist.post<MedicationDispense & { id: string }>('MedicationDispense', dispense(rx, 'p1', quantity));
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** The running total kept in the prescription's stored record (not part of the resource clients see). */
async function kept(rx: string): Promise<unknown> {
  const [record] = await server.app.store.find('current', { resourceType: 'MedicationRequest', id: rx });
  return record?.index?.[TALLY_KEY];
}

const status = async (rx: string): Promise<string | undefined> => (await backend.get<MedicationRequest>(`MedicationRequest/${rx}`)).body.status;

describe('the running total of a prescription (issue 17, item 1)', () => {
  it('is kept with the prescription: a dispense reads no earlier dispense, whatever the fill', async () => {
    const rx = await newPrescription(9, 10);
    const find = vi.spyOn(server.app.store, 'find');
    const dispenseReads = (): number => find.mock.calls.filter(([, filter]) => JSON.stringify(filter as Filter).includes('"MedicationDispense"')).length;
    try {
      for (let fill = 1; fill <= 10; fill++) {
        const before = dispenseReads();
        await dispenseOk(rx, 10);
        // The first dispense finds no total yet and counts (no dispenses); every later one uses the kept total.
        if (fill === 1) expect(dispenseReads() - before).toBeGreaterThan(0);
        else expect(dispenseReads() - before, `fill ${fill}`).toBe(0);
      }
    } finally {
      find.mockRestore();
    }
    expect(await kept(rx)).toEqual({ fills: 10, quantity: 100, days: 0 });
    expect(await status(rx)).toBe('completed');
    const prescriptionBody = (await backend.get<MedicationRequest>(`MedicationRequest/${rx}`)).body;
    expect(JSON.stringify(prescriptionBody)).not.toContain(TALLY_KEY);
  });

  it('is kept in the stored record only, out of the embedded store\'s search values: a dispense changes none of them (issue 17)', async () => {
    const rx = await newPrescription(3);
    await dispenseOk(rx, 30);
    await dispenseOk(rx, 30);
    expect(await kept(rx)).toEqual({ fills: 2, quantity: 60, days: 0 });
    const rows = withDatabase(
      server.dataDir,
      (db) => db.prepare("SELECT count(*) FROM search_values s JOIN paths p ON p.pid = s.pid WHERE p.path LIKE 'index.workflow\\_\\_dispensed%' ESCAPE '\\'").pluck().get() as number,
      { readonly: true },
    );
    expect(rows).toBe(0);
  });

  it('survives a client update of the prescription, which drops the total: the next dispense counts once', async () => {
    const rx = await newPrescription(2);
    await dispenseOk(rx, 30);
    await dispenseOk(rx, 30);
    const current = (await backend.get<MedicationRequest>(`MedicationRequest/${rx}`)).body;
    expect((await backend.put(`MedicationRequest/${rx}`, { ...current, note: [{ text: 'take with food' }] })).status).toBe(200);
    expect(await kept(rx)).toBeUndefined();
    const over = await pharmacist.post('MedicationDispense', dispense(rx, 'p1', 31));
    expect(errorCode(over.body)).toBe('prescription-exhausted');
    await dispenseOk(rx, 30);
    expect(await kept(rx)).toEqual({ fills: 3, quantity: 90, days: 0 });
    expect(await status(rx)).toBe('completed');
  });

  it('gives a fill back when a dispense is entered in error or deleted', async () => {
    const rx = await newPrescription(2);
    const first = await dispenseOk(rx, 30);
    const second = await dispenseOk(rx, 30);
    const voided = await pharmacist.put(`MedicationDispense/${first.id}`, { ...first, status: 'entered-in-error' });
    expect(voided.status, voided.text).toBe(200);
    expect(await kept(rx)).toEqual({ fills: 1, quantity: 30, days: 0 });
    expect((await backend.delete(`MedicationDispense/${second.id}`)).status).toBe(200);
    expect(await kept(rx)).toEqual({ fills: 0, quantity: 0, days: 0 });
    for (let fill = 1; fill <= 3; fill++) await dispenseOk(rx, 30);
    expect(await status(rx)).toBe('completed');
  });

  it('counts a corrected quantity once', async () => {
    const rx = await newPrescription(1);
    const first = await dispenseOk(rx, 30);
    const corrected = await pharmacist.put(`MedicationDispense/${first.id}`, { ...first, quantity: { ...first.quantity, value: 20 } });
    expect(corrected.status, corrected.text).toBe(200);
    expect(await kept(rx)).toEqual({ fills: 1, quantity: 20, days: 0 });
    const over = await pharmacist.post('MedicationDispense', dispense(rx, 'p1', 41));
    expect(errorCode(over.body)).toBe('prescription-exhausted');
    await dispenseOk(rx, 40);
    expect(await status(rx)).toBe('completed');
  });

  it('never over-dispenses with racing pharmacists once a total is kept', async () => {
    const rx = await newPrescription(4, 10);
    await dispenseOk(rx, 10);
    const clients = await Promise.all(Array.from({ length: 4 }, (_, i) => userClient(server, 'pharmacist', `Practitioner/ph${i}`)));
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => clients[i % 4].post('MedicationDispense', dispense(rx, 'p1', 10))));
    expect(results.filter((r) => r.status === 201)).toHaveLength(4);
    expect(results.filter((r) => r.status !== 201).every((r) => r.status === 409)).toBe(true);
    expect(await kept(rx)).toEqual({ fills: 5, quantity: 50, days: 0 });
    expect(await status(rx)).toBe('completed');
  });
});
