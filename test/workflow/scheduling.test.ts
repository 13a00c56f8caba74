import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Appointment, Bundle, Slot } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { CORPUS_DIR, startServer, type TestServer } from '../support/server.js';
import { ackCode, rawConnection } from '../hl7v2/support.js';
import { seed, userClient } from './support.js';
import { HOLDS_KEY } from '../../src/workflow/hold-index.js';

let server: TestServer;
let backend: FhirClient;
let reception: FhirClient;
let patient1: FhirClient;

const DAY = '2027-03-01';
const at = (hhmm: string): string => `${DAY}T${hhmm}:00Z`;
const slot = (id: string, from: string, to: string, status: Slot['status'] = 'free'): Slot & { id: string } => ({
  resourceType: 'Slot',
  id,
  schedule: { reference: 'Schedule/s-d1' },
  status,
  start: at(from),
  end: at(to),
});

function appointment(patient: string, practitioner: string, from: string, to: string, extra: Partial<Appointment> = {}): Appointment {
  return {
    resourceType: 'Appointment',
    status: 'booked',
    start: at(from),
    end: at(to),
    participant: [
      { actor: { reference: `Patient/${patient}` }, status: 'accepted' },
      { actor: { reference: `Practitioner/${practitioner}` }, status: 'accepted' },
    ],
    ...extra,
  };
}

beforeAll(async () => {
  server = await startServer();
  backend = fhirClient(server.fhirUrl);
  await seed(
    backend,
    ...['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((id) => ({ resourceType: 'Patient' as const, id, name: [{ family: id }] })),
    { resourceType: 'Practitioner', id: 'd1', name: [{ family: 'One' }] },
    { resourceType: 'Practitioner', id: 'd2', name: [{ family: 'Two' }] },
    { resourceType: 'Schedule', id: 's-d1', actor: [{ reference: 'Practitioner/d1' }], planningHorizon: { start: at('08:00'), end: at('18:00') } },
    slot('slot-a', '09:00', '09:30'),
    slot('slot-b', '09:30', '10:00'),
    slot('slot-c', '10:00', '10:30'),
    slot('slot-lunch', '13:00', '14:00', 'busy-unavailable'),
  );
  reception = await userClient(server, 'receptionist', 'Practitioner/r1');
  patient1 = await userClient(server, 'patient', 'Patient/p1');
});
afterAll(() => server.destroy());

const slotStatus = async (id: string): Promise<string> => (await backend.get<Slot>(`Slot/${id}`)).body.status;

describe('no overlapping appointments per practitioner (issue 17, item 2)', () => {
  it('refuses a booked appointment overlapping another booked one of the practitioner, with 409 appointment-overlap', async () => {
    const first = await reception.post('Appointment', appointment('p1', 'd1', '11:00', '11:30'));
    expect(first.status, first.text).toBe(201);
    const overlapping = await reception.post('Appointment', appointment('p2', 'd1', '11:15', '11:45'));
    expect(overlapping.status).toBe(409);
    expect(errorCode(overlapping.body)).toBe('appointment-overlap');
    expect(overlapping.body.issue[0].diagnostics).toContain(first.body.id);
    // Another practitioner, a proposal, back-to-back: no conflict.
    expect((await reception.post('Appointment', appointment('p2', 'd2', '11:15', '11:45'))).status).toBe(201);
    expect((await reception.post('Appointment', appointment('p2', 'd1', '11:15', '11:45', { status: 'proposed' }))).status).toBe(201);
    expect((await reception.post('Appointment', appointment('p2', 'd1', '11:30', '12:00'))).status).toBe(201);
    // Cancelling the first makes room.
    expect((await reception.put(`Appointment/${first.body.id}`, { ...first.body, status: 'cancelled' })).status).toBe(200);
    expect((await reception.post('Appointment', appointment('p3', 'd1', '11:00', '11:30'))).status).toBe(201);
  });

  it('racing overlapping bookings without slots (REST and transactions): exactly one 201', async () => {
    const times: Array<[string, string]> = [['16:00', '16:30'], ['16:10', '16:40'], ['16:20', '16:50'], ['15:50', '16:20'], ['16:05', '16:35'], ['16:15', '16:45'], ['16:00', '16:30'], ['16:25', '16:55']];
    const clients = await Promise.all(times.map((_, i) => userClient(server, 'receptionist', `Practitioner/r${i}`)));
    // A slow disk: every commit takes 50 ms more, so each booking's check would see none of the others' commits without the practitioner's key.
    const commit = server.app.store.commit.bind(server.app.store);
    const slow = vi.spyOn(server.app.store, 'commit').mockImplementation(async (writes) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return commit(writes);
    });
    const results = await Promise.all(
      times.map(([from, to], i) => {
        const body = appointment(`p${(i % 6) + 1}`, 'd2', from, to);
        // Every other one comes as a transaction entry, which takes the practitioner's key for the whole transaction.
        return i % 2 === 0 ? clients[i].post('Appointment', body) : clients[i].post('', { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: body, request: { method: 'POST', url: 'Appointment' } }] });
      }),
    ).finally(() => slow.mockRestore());
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201 || s === 200), JSON.stringify(statuses)).toHaveLength(1);
    for (const refused of results.filter((r) => r.status !== 201 && r.status !== 200)) {
      expect(refused.status).toBe(409);
      expect(errorCode(refused.body)).toBe('appointment-overlap');
    }
    const stored = await backend.get<Bundle>(`Appointment?practitioner=Practitioner/d2&status=booked&date=ge${DAY}T15:00:00Z&date=lt${DAY}T17:00:00Z`);
    expect(stored.body.entry, stored.text).toHaveLength(1);
  });

  it('refuses an appointment over a busy slot of the practitioner\'s schedule', async () => {
    const res = await reception.post('Appointment', appointment('p1', 'd1', '13:15', '13:45'));
    expect(res.status).toBe(409);
    expect(errorCode(res.body)).toBe('appointment-overlap');
    expect(res.body.issue[0].diagnostics).toContain('slot-lunch');
  });
});

describe('a patient finds a free slot and books it (issue 17, item 2)', () => {
  const freeSlots = async (client: FhirClient): Promise<string[]> => {
    const res = await client.get<Bundle>(`Slot?schedule.actor=Practitioner/d1&status=free&start=ge${DAY}T00:00:00Z&_sort=start`);
    expect(res.status, res.text).toBe(200);
    return (res.body.entry ?? []).map((e) => e.resource!.id!);
  };

  it('searches free slots, books one (it becomes busy), and cancelling frees it', async () => {
    expect(await freeSlots(patient1)).toEqual(['slot-a', 'slot-b', 'slot-c']);
    const booked = await patient1.post('Appointment', appointment('p1', 'd1', '09:00', '09:30', { slot: [{ reference: 'Slot/slot-a' }] }));
    expect(booked.status, booked.text).toBe(201);
    expect(await slotStatus('slot-a')).toBe('busy');
    expect(await freeSlots(patient1)).toEqual(['slot-b', 'slot-c']);
    // Slots by status: its sort values are kept in the record (value-index-plan.ts), sorted in memory, the same order.
    const byStatus = async (sort: string): Promise<string[]> => ((await backend.get<Bundle>(`Slot?schedule=Schedule/s-d1&_sort=${sort}`)).body.entry ?? []).map((e) => e.resource!.id!);
    expect(await byStatus('status,start')).toEqual(['slot-a', 'slot-lunch', 'slot-b', 'slot-c']);
    expect(await byStatus('-status,-start')).toEqual(['slot-c', 'slot-b', 'slot-lunch', 'slot-a']);
    const again = await userClient(server, 'patient', 'Patient/p2').then((c) => c.post('Appointment', appointment('p2', 'd1', '09:00', '09:30', { slot: [{ reference: 'Slot/slot-a' }] })));
    expect(again.status).toBe(409);
    expect(errorCode(again.body)).toBe('slot-unavailable');
    const cancelled = await patient1.put(`Appointment/${booked.body.id}`, { ...booked.body, status: 'cancelled' });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(await slotStatus('slot-a')).toBe('free');
  });

  it.each([
    ['for another patient (outside their compartment)', () => appointment('p2', 'd1', '10:00', '10:30', { slot: [{ reference: 'Slot/slot-c' }] }), 403, 'forbidden'],
    ['without a slot', () => appointment('p1', 'd1', '15:00', '15:30'), 422, 'slot-mismatch'],
    ['outside the slot\'s time', () => appointment('p1', 'd1', '10:00', '10:45', { slot: [{ reference: 'Slot/slot-c' }] }), 422, 'slot-mismatch'],
    ['into a slot that does not exist', () => appointment('p1', 'd1', '10:00', '10:30', { slot: [{ reference: 'Slot/nope' }] }), 409, 'slot-not-found'],
    ['into a busy-unavailable slot', () => appointment('p1', 'd1', '13:00', '14:00', { slot: [{ reference: 'Slot/slot-lunch' }] }), 409, 'slot-unavailable'],
  ])('a patient may not book %s', async (_what, body, status, code) => {
    const res = await patient1.post('Appointment', body());
    expect(res.status, res.text).toBe(status);
    expect(errorCode(res.body)).toBe(code);
    expect(await slotStatus('slot-c')).toBe('free');
  });

  it('racing bookings of one slot: exactly one 201', async () => {
    const clients = await Promise.all(['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((p) => userClient(server, 'patient', `Patient/${p}`)));
    const results = await Promise.all(clients.map((c, i) => c.post('Appointment', appointment(`p${i + 1}`, 'd1', '09:30', '10:00', { slot: [{ reference: 'Slot/slot-b' }] }))));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201), JSON.stringify(results.map((r) => errorCode(r.body)))).toHaveLength(1);
    expect(statuses.filter((s) => s !== 201).every((s) => s === 409)).toBe(true);
    expect(await slotStatus('slot-b')).toBe('busy');
    const holders = await backend.get<Bundle>('Appointment?slot=Slot/slot-b&status=booked');
    expect(holders.body.entry).toHaveLength(1);
  });

  it('deleting a booked appointment frees its slot', async () => {
    const booked = await reception.post('Appointment', appointment('p4', 'd1', '10:00', '10:30', { slot: [{ reference: 'Slot/slot-c' }] }));
    expect(booked.status, booked.text).toBe(201);
    expect(await slotStatus('slot-c')).toBe('busy');
    expect((await reception.delete(`Appointment/${booked.body.id}`)).status).toBe(200);
    expect(await slotStatus('slot-c')).toBe('free');
  });
});

describe('the HL7 v2 scheduling feed goes through the same rules (issue 17, item 2)', () => {
  it('answers a conflicting SIU^S12 with AE and the reason, storing nothing', async () => {
    const sample = readFileSync(path.join(CORPUS_DIR, 'hl7v2/SIU_S12/ms-fhir-converter/SIU-S12-01.hl7'), 'latin1').replace(/\n/g, '\r');
    const conn = await rawConnection(server.app.hl7.port()!);
    try {
      conn.send(sample);
      expect(ackCode(await conn.frame(1))).toMatchObject({ code: 'AA' });
      // The same practitioner (AIP-3) at the same time, under other appointment ids (SCH-1, SCH-2) and control id.
      const clash = sample.replace('|MSG00012|', '|MSG00013|').replace('SCH|12345|36996|', 'SCH|22345|46996|');
      conn.send(clash);
      const ack = await conn.frame(2);
      expect(ackCode(ack).code).toBe('AE');
      expect(ack).toContain('already has Appointment');
    } finally {
      conn.end();
    }
    const stored = await backend.get<Bundle>('Appointment?identifier=46996');
    expect(stored.body.entry ?? []).toHaveLength(0);
  });
});

describe('overlap checks look up the hours a booking holds (kept in the index)', () => {
  const book = async (practitioner: string, from: string, to: string) =>
    reception.post<Appointment & { id: string }>('Appointment', { ...appointment('p4', practitioner, '00:00', '00:00'), start: from, end: to });
  const d3 = async (from: string, to: string) => book('d3', at(from), at(to));
  const holdsOf = async (type: string, id: string): Promise<unknown> => (await server.app.store.find('current', { resourceType: type, id }))[0].index?.[HOLDS_KEY];

  beforeAll(() =>
    seed(
      backend,
      ...['d3', 'd4', 'd5', 'd6'].map((id) => ({ resourceType: 'Practitioner' as const, id, name: [{ family: id }] })),
      { resourceType: 'Schedule', id: 's-d4', actor: [{ reference: 'Practitioner/d4' }] },
      { resourceType: 'Slot', id: 'slot-leave', schedule: { reference: 'Schedule/s-d4' }, status: 'busy-unavailable', start: '2027-04-01T00:00:00Z', end: '2027-05-15T00:00:00Z' },
    ),
  );

  it('refuses a booking inside a longer, earlier appointment, and allows one back-to-back', async () => {
    const long = await d3('06:00', '08:00');
    expect(long.status, long.text).toBe(201);
    expect(await holdsOf('Appointment', long.body.id)).toEqual([`Practitioner/d3@${DAY}T06`, `Practitioner/d3@${DAY}T07`]);
    const inside = await d3('07:45', '08:15');
    expect(inside.status).toBe(409);
    expect(errorCode(inside.body)).toBe('appointment-overlap');
    expect((await d3('08:00', '08:30')).status).toBe(201);
    // What holds nothing keeps an empty list: it was stored with the rules on.
    const proposed = await reception.post<Appointment & { id: string }>('Appointment', appointment('p4', 'd3', '07:00', '07:30', { status: 'proposed' }));
    expect(await holdsOf('Appointment', proposed.body.id)).toEqual([]);
  });

  it('finds bookings of several days, and weeks-long busy slots kept as held throughout', async () => {
    const days = await book('d3', '2027-03-10T00:00:00Z', '2027-03-13T00:00:00Z');
    expect(days.status, days.text).toBe(201);
    expect(await holdsOf('Appointment', days.body.id)).toHaveLength(72);
    const within = await book('d3', '2027-03-12T10:00:00Z', '2027-03-12T10:30:00Z');
    expect(within.status).toBe(409);
    expect(within.text).toContain(days.body.id);
    expect(await holdsOf('Slot', 'slot-leave')).toEqual(['Schedule/s-d4@*']);
    const onLeave = await book('d4', '2027-04-20T09:00:00Z', '2027-04-20T09:30:00Z');
    expect(onLeave.status).toBe(409);
    expect(onLeave.text).toContain('slot-leave');
    expect((await book('d4', '2027-05-15T00:00:00Z', '2027-05-15T00:30:00Z')).status).toBe(201);
  });

  it('sees a schedule created after earlier bookings of its practitioner (REST, and staged in a transaction)', async () => {
    expect((await book('d6', at('09:00'), at('09:30'))).status).toBe(201);
    await seed(
      backend,
      { resourceType: 'Schedule', id: 's-d6', actor: [{ reference: 'Practitioner/d6' }] },
      { resourceType: 'Slot', id: 'slot-d6-meeting', schedule: { reference: 'Schedule/s-d6' }, status: 'busy', start: at('10:00'), end: at('11:00') },
    );
    const clash = await book('d6', at('10:30'), at('10:45'));
    expect(clash.status).toBe(409);
    expect(clash.text).toContain('slot-d6-meeting');
    const SCHEDULE = 'urn:uuid:6a0c1d2e-0000-4000-8000-000000000d6b';
    const staged = await reception.post('', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        // POSTs run in bundle order (PUTs would run after the appointment's POST: http.html#trules).
        { fullUrl: SCHEDULE, resource: { resourceType: 'Schedule', actor: [{ reference: 'Practitioner/d6' }] }, request: { method: 'POST', url: 'Schedule' } },
        { resource: { resourceType: 'Slot', schedule: { reference: SCHEDULE }, status: 'busy', start: at('12:00'), end: at('13:00') }, request: { method: 'POST', url: 'Slot' } },
        { resource: appointment('p4', 'd6', '12:15', '12:30'), request: { method: 'POST', url: 'Appointment' } },
      ],
    });
    expect(staged.status, staged.text).toBe(409);
    expect(errorCode(staged.body)).toBe('appointment-overlap');
    expect(staged.text).toContain('is busy from 2027-03-01T12:00:00Z');
  });

  it('checks a booking of more than a month over what it spans', async () => {
    const short = await book('d5', '2027-06-20T09:00:00Z', '2027-06-20T09:30:00Z');
    expect(short.status, short.text).toBe(201);
    const months = await book('d5', '2027-06-01T00:00:00Z', '2027-08-01T00:00:00Z');
    expect(months.status).toBe(409);
    expect(months.text).toContain(short.body.id);
    const later = await book('d5', '2027-07-01T00:00:00Z', '2027-08-10T00:00:00Z');
    expect(later.status, later.text).toBe(201);
    expect(await holdsOf('Appointment', later.body.id)).toEqual(['Practitioner/d5@*']);
    expect((await book('d5', '2027-08-09T09:00:00Z', '2027-08-09T09:30:00Z')).status).toBe(409);
  });
});

describe('bookings stored without hold keys (before the rules kept them, or with the rules off)', () => {
  it('are still found, by the generic search, once a FhirGate starts over a store holding them', async () => {
    let own = await startServer();
    try {
      await seed(fhirClient(own.fhirUrl), { resourceType: 'Patient', id: 'p1', name: [{ family: 'p1' }] }, { resourceType: 'Practitioner', id: 'd1', name: [{ family: 'One' }] });
      const first = await fhirClient(own.fhirUrl).post<Appointment & { id: string }>('Appointment', appointment('p1', 'd1', '04:00', '05:30'));
      expect(first.status, first.text).toBe(201);
      const [record] = await own.app.store.find('current', { resourceType: 'Appointment', id: first.body.id });
      const { [HOLDS_KEY]: _dropped, ...index } = record.index ?? {};
      await own.app.store.commit([{ record: { ...record, versionId: record.versionId + 1, index }, expectedVersion: record.versionId }]);
      own = await own.restart();
      const desk = await userClient(own, 'receptionist', 'Practitioner/r1');
      const res = await desk.post('Appointment', appointment('p1', 'd1', '05:00', '05:15'));
      expect(res.status).toBe(409);
      expect(errorCode(res.body)).toBe('appointment-overlap');
      expect(res.text).toContain(first.body.id);
      expect((await desk.post('Appointment', appointment('p1', 'd1', '05:30', '05:45'))).status).toBe(201);
    } finally {
      await own.destroy();
    }
  });
});
