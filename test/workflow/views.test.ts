import type { Appointment, MedicationRequest, Slot } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOLDS_KEY, heldIn } from '../../src/workflow/hold-index.js';
import { decodeOnce } from '../../src/workflow/hold-view.js';
import { noteDerived } from '../../src/workflow/record-view.js';
import { viewsOf, withWorkflowViews, type WorkflowViews } from '../../src/workflow/views.js';
import { VersionConflictError, type StorePort, type StoredRecord } from '../../src/store/port.js';
import { errorCode, fhirClient } from '../support/fhir-client.js';
import { startServer } from '../support/server.js';
import { openStore, removeDir, tempDir } from '../store/embedded-support.js';
import { seed, userClient } from './support.js';

// The rules' in-process views of what is committed (src/workflow/views.ts: who holds which hours,
// prescriptions), on a real embedded store: they answer what the store answers, or nothing (the rule then asks the store).
let dir: string;
let inner: StorePort;
let store: StorePort;
let views: WorkflowViews;

beforeAll(async () => {
  dir = await tempDir();
  ({ store: inner } = await openStore(dir));
  store = withWorkflowViews(inner);
  views = viewsOf(store)!;
});

afterAll(async () => {
  await inner?.close();
  await removeDir(dir);
});

const versions = new Map<string, number>();

/** Commits the next version of Appointment/`id` holding `keys` (deleted when `keys` is null), through `via`. */
async function hold(id: string, keys: string[] | null, via: StorePort = store): Promise<StoredRecord> {
  const versionId = (versions.get(id) ?? 0) + 1;
  const resource = { resourceType: 'Appointment', id, status: keys?.length ? 'booked' : 'cancelled', participant: [] } as Appointment;
  const record: StoredRecord = { resourceType: 'Appointment', id, versionId, lastUpdated: new Date().toISOString(), deleted: keys === null, ...(keys === null ? {} : { resource, index: { [HOLDS_KEY]: keys } }) };
  await via.commit([{ record, expectedVersion: versionId - 1 }]);
  versions.set(id, versionId);
  return record;
}

/** What the view answers for `keys`, with the store's loads counted. */
function looker(): { loads: string[][]; lookup: (keys: string[], during?: () => Promise<unknown>) => Promise<string[] | undefined> } {
  const loads: string[][] = [];
  const lookup = async (keys: string[], during?: () => Promise<unknown>): Promise<string[] | undefined> => {
    const load = async (missing: string[]): Promise<StoredRecord[]> => {
      loads.push(missing);
      const found = await store.find('current', { resourceType: 'Appointment', deleted: false, $and: [heldIn(missing)] });
      await during?.();
      return found;
    };
    return (await views.holds.heldIn(store, keys, load, (k) => [k]))?.map((r) => `${r.id}/${r.versionId}`).sort();
  };
  return { loads, lookup };
}

describe('hold view', () => {
  it('answers what the store holds, kept by the commits made through it', async () => {
    const { loads, lookup } = looker();
    await hold('a', ['P/1@a', 'P/1@b']);
    expect(await lookup(['P/1@a'])).toEqual(['a/1']);
    await hold('b', ['P/1@a']);
    expect(await lookup(['P/1@a', 'P/1@b'])).toEqual(['a/1', 'b/1']);
    await hold('a', []); // cancelled: holds nothing
    expect(await lookup(['P/1@a', 'P/1@b'])).toEqual(['b/1']);
    await hold('b', null); // deleted: its version keeps the index of what it deleted, and holds nothing
    expect(await lookup(['P/1@a'])).toEqual([]);
    expect(loads).toEqual([['P/1@a'], ['P/1@b']]);
  });

  it('sees a write made past it (another writer of the store): it starts again and asks the store', async () => {
    const { loads, lookup } = looker();
    expect(await lookup(['P/2@a'])).toEqual([]);
    await hold('c', ['P/2@a'], inner);
    expect(await lookup(['P/2@a'])).toEqual(['c/1']);
    expect(loads).toEqual([['P/2@a'], ['P/2@a']]);
  });

  it('keeps nothing it loaded while a booking committed, and is unchanged by a commit that conflicts', async () => {
    const { loads, lookup } = looker();
    expect(await lookup(['P/3@a'], () => hold('d', ['P/3@a']))).toBeUndefined();
    expect(await lookup(['P/3@a'])).toEqual(['d/1']);
    const resource: Appointment = { resourceType: 'Appointment', id: 'd', status: 'cancelled', participant: [] };
    const stale: StoredRecord = { resourceType: 'Appointment', id: 'd', versionId: 1, lastUpdated: new Date().toISOString(), deleted: false, resource, index: { [HOLDS_KEY]: [] } };
    await expect(store.commit([{ record: stale, expectedVersion: 0 }])).rejects.toBeInstanceOf(VersionConflictError);
    expect(await lookup(['P/3@a'])).toEqual(['d/1']);
    expect(loads).toEqual([['P/3@a'], ['P/3@a']]);
  });

  it('loads a day of hours with the first of them', async () => {
    const loads: string[][] = [];
    const load = async (missing: string[]): Promise<StoredRecord[]> => (loads.push(missing), []);
    const day = (key: string): string[] => Array.from({ length: 3 }, (_, h) => `${key.slice(0, -1)}${h}`);
    expect(await views.holds.heldIn(store, ['P/4@h0'], load, day)).toEqual([]);
    expect(await views.holds.heldIn(store, ['P/4@h2'], load, day)).toEqual([]);
    expect(loads).toEqual([['P/4@h0', 'P/4@h1', 'P/4@h2']]);
  });

  it("answers a slot's read from a loaded day, free or busy, and never a version the store no longer holds", async () => {
    const slotVersions = new Map<string, number>();
    /** Commits the next version of Slot/`id` on schedule s5's hour `hour` (deleted when `status` is null), through `via`. */
    const slot = async (id: string, status: string | null, hour = 'h0', via: StorePort = store): Promise<void> => {
      const versionId = (slotVersions.get(id) ?? 0) + 1;
      const resource = { resourceType: 'Slot', id, status, schedule: { reference: 'Schedule/s5' } } as Slot;
      const live = status === null ? {} : { resource, index: { [HOLDS_KEY]: [`Schedule/s5@${hour}`] } };
      await via.commit([{ record: { resourceType: 'Slot', id, versionId, lastUpdated: new Date().toISOString(), deleted: status === null, ...live }, expectedVersion: versionId - 1 }]);
      slotVersions.set(id, versionId);
    };
    const read = async (id: string): Promise<string | undefined> => {
      const record = await views.holds.current(store, 'Slot', id);
      return record && `${(record.resource as Slot).status}/${record.versionId}`;
    };
    const loadDay = (): Promise<StoredRecord[] | undefined> =>
      views.holds.heldIn(store, ['Schedule/s5@h0'], (missing) => store.find('current', { resourceType: 'Slot', deleted: false, $and: [heldIn(missing)] }), () => ['Schedule/s5@h0', 'Schedule/s5@h1']);
    await slot('x', 'free');
    await slot('y', 'free', 'h1');
    expect(await read('x')).toBeUndefined(); // its day not loaded yet: the rule reads the store
    expect(await loadDay()).toHaveLength(1);
    expect([await read('x'), await read('y')]).toEqual(['free/1', 'free/1']);
    await slot('x', 'busy');
    expect(await read('x')).toBe('busy/2');
    await slot('y', 'free', 'h9'); // moved to an hour not loaded: no longer known here
    expect(await read('y')).toBeUndefined();
    await slot('x', null);
    expect(await read('x')).toBeUndefined();
    await slot('z', 'free');
    expect(await read('z')).toBe('free/1');
    // Written past the view (another writer of the store): the view starts again rather than answer busy/1.
    await slot('z', 'busy', 'h0', inner);
    expect(await read('z')).toBeUndefined();
    expect(await views.holds.current(store, 'Appointment', 'z')).toBeUndefined();
    // Rewritten in place (key rotation: no new revision): what the view kept is dropped, not served.
    await slot('w', 'free');
    expect(await read('w')).toBeUndefined();
    expect(await loadDay()).toHaveLength(2);
    expect(await read('w')).toBe('free/1');
    const [w] = await store.find('current', { resourceType: 'Slot', id: 'w' });
    await store.rewrite!([{ ...w, resource: { ...(w.resource as Slot), comment: 'rewritten' } as Slot }]);
    expect(await read('w')).toBeUndefined();
  });

  it('shares only frozen records and decoded resources: a reader cannot change what the next one reads', async () => {
    const resource = { resourceType: 'Slot', id: 'f', status: 'free', schedule: { reference: 'Schedule/s6' } } as Slot;
    await store.commit([{ record: { resourceType: 'Slot', id: 'f', versionId: 1, lastUpdated: new Date().toISOString(), deleted: false, resource, index: { [HOLDS_KEY]: ['Schedule/s6@h0'] } }, expectedVersion: 0 }]);
    await views.holds.heldIn(store, ['Schedule/s6@h0'], (missing) => store.find('current', { resourceType: 'Slot', deleted: false, $and: [heldIn(missing)] }), (k) => [k]);
    const held = (await views.holds.current(store, 'Slot', 'f'))!;
    expect(held).toBeDefined();
    expect(() => ((held.resource as Slot).status = 'busy')).toThrow(TypeError);
    expect(() => (held.index![HOLDS_KEY] as string[]).push('Schedule/s6@h1')).toThrow(TypeError);
    const decoded = await decodeOnce(async (r) => structuredClone(r.resource) as Slot)(held);
    expect(() => (decoded.schedule.reference = 'Schedule/other')).toThrow(TypeError);
    expect(((await views.holds.current(store, 'Slot', 'f'))!.resource as Slot).status).toBe('free');
  });

  it('is not kept for a store without revisions (MongoDB): the rules ask the store', async () => {
    const bare = { ...inner, revision: undefined } as unknown as StorePort;
    expect(withWorkflowViews(bare)).toBe(bare);
    expect(viewsOf(bare)).toBeUndefined();
  });
});

describe('prescription view', () => {
  /** Commits the next version of MedicationRequest/`id` through `via`, derived by the rules or not. */
  async function prescribe(id: string, versionId: number, how: { derived?: boolean; via?: StorePort } = {}): Promise<void> {
    const resource = { resourceType: 'MedicationRequest', id, status: 'active', intent: 'order', subject: { reference: 'Patient/p' } } as MedicationRequest;
    const record: StoredRecord = { resourceType: 'MedicationRequest', id, versionId, lastUpdated: new Date().toISOString(), deleted: false, resource, index: {} };
    if (how.derived) noteDerived(record);
    await (how.via ?? store).commit([{ record, expectedVersion: versionId - 1 }]);
  }

  it('keeps what it read and the versions the rules derive; any other version is read again', async () => {
    const reads: number[] = [];
    const current = async (id: string): Promise<number | undefined> =>
      (await views.records.current(store, 'MedicationRequest', id, async () => {
        const [record] = await store.find('current', { resourceType: 'MedicationRequest', id });
        reads.push(record?.versionId ?? 0);
        return record;
      }))?.versionId;
    await prescribe('m1', 1);
    expect(await current('m1')).toBe(1);
    expect(await current('m1')).toBe(1);
    await prescribe('m1', 2, { derived: true });
    expect(await current('m1')).toBe(2);
    await prescribe('m1', 3);
    expect(await current('m1')).toBe(3);
    await prescribe('m1', 4, { derived: true, via: inner }); // past the view: it starts again
    expect(await current('m1')).toBe(4);
    expect(await current('m1')).toBe(4);
    expect(reads).toEqual([1, 3, 4]);
  });
});

describe('bookings through the view', () => {
  it("read their slot from it, and see a slot changed past it (a purge) as the store holds it", async () => {
    const own = await startServer();
    try {
      const backend = fhirClient(own.fhirUrl);
      const slot = (id: string, from: string, to: string) => ({ resourceType: 'Slot' as const, id, schedule: { reference: 'Schedule/s1' }, status: 'free' as const, start: `2027-05-04T${from}:00Z`, end: `2027-05-04T${to}:00Z` });
      await seed(
        backend,
        { resourceType: 'Patient', id: 'p1', name: [{ family: 'p1' }] },
        { resourceType: 'Practitioner', id: 'd1', name: [{ family: 'One' }] },
        { resourceType: 'Schedule', id: 's1', actor: [{ reference: 'Practitioner/d1' }] },
        slot('sa', '09:00', '09:15'),
        slot('sb', '09:15', '09:30'),
        slot('sc', '09:30', '09:45'),
      );
      const book = (id: string, from: string, to: string, practitioner = true) =>
        backend.post<Appointment & { id: string }>('Appointment', {
          resourceType: 'Appointment',
          status: 'booked',
          start: `2027-05-04T${from}:00Z`,
          end: `2027-05-04T${to}:00Z`,
          slot: [{ reference: `Slot/${id}` }],
          participant: [{ actor: { reference: 'Patient/p1' }, status: 'accepted' }, ...(practitioner ? [{ actor: { reference: 'Practitioner/d1' }, status: 'accepted' as const }] : [])],
        });
      const first = await book('sa', '09:00', '09:15');
      expect(first.status, first.text).toBe(201);
      const views = viewsOf(own.app.store)!;
      // The booking loaded its day: the free slots of the schedule's hours with it.
      expect((await views.holds.current(own.app.store, 'Slot', 'sb'))?.versionId).toBe(1);
      // Racing bookings of a slot read from the view, without a practitioner's lock: the slot's version decides.
      const racing = await Promise.all(Array.from({ length: 5 }, () => book('sb', '09:15', '09:30', false)));
      expect(racing.filter((r) => r.status === 201), JSON.stringify(racing.map((r) => errorCode(r.body)))).toHaveLength(1);
      expect(racing.filter((r) => r.status !== 201).map((r) => errorCode(r.body))).toEqual(Array(4).fill('slot-unavailable'));
      // Cancelling frees the slot in the view as in the store.
      expect((await backend.put(`Appointment/${first.body.id}`, { ...first.body, status: 'cancelled' })).status).toBe(200);
      expect(((await views.holds.current(own.app.store, 'Slot', 'sa'))?.resource as Slot | undefined)?.status).toBe('free');
      expect((await book('sa', '09:00', '09:15')).status).toBe(201);
      // Purged past the view: the booking (without a practitioner, so no overlap check asks the view first) finds no slot; a view answering version 1 would end in a version conflict.
      expect((await views.holds.current(own.app.store, 'Slot', 'sc'))?.versionId).toBe(1);
      await own.app.store.purge!([{ resourceType: 'Slot', id: 'sc' }]);
      const purged = await book('sc', '09:30', '09:45', false);
      expect(purged.status, purged.text).toBe(409);
      expect(errorCode(purged.body)).toBe('slot-not-found');
    } finally {
      await own.destroy();
    }
  });

  it('are checked against what is committed, after a cancellation and after a restart', async () => {
    let own = await startServer();
    try {
      await seed(fhirClient(own.fhirUrl), { resourceType: 'Patient', id: 'p1', name: [{ family: 'p1' }] }, { resourceType: 'Practitioner', id: 'd1', name: [{ family: 'One' }] });
      const book = (from: string, to: string) =>
        fhirClient(own.fhirUrl).post<Appointment & { id: string }>('Appointment', {
          resourceType: 'Appointment',
          status: 'booked',
          start: `2027-05-03T${from}:00Z`,
          end: `2027-05-03T${to}:00Z`,
          participant: [{ actor: { reference: 'Patient/p1' }, status: 'accepted' }, { actor: { reference: 'Practitioner/d1' }, status: 'accepted' }],
        });
      const first = await book('09:00', '09:30');
      expect(first.status, first.text).toBe(201);
      expect((await book('09:15', '09:45')).status).toBe(409);
      const desk = await userClient(own, 'receptionist', 'Practitioner/r1');
      expect((await desk.put(`Appointment/${first.body.id}`, { ...first.body, status: 'cancelled' })).status).toBe(200);
      const second = await book('09:15', '09:45');
      expect(second.status, second.text).toBe(201);
      own = await own.restart();
      const again = await book('09:40', '10:00');
      expect(again.status).toBe(409);
      expect(errorCode(again.body)).toBe('appointment-overlap');
      expect(again.text).toContain(second.body.id);
      expect((await book('09:00', '09:15')).status).toBe(201);
    } finally {
      await own.destroy();
    }
  });
});
