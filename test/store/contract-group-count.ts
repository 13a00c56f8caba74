import { beforeEach, describe, expect, it } from 'vitest';
import { groupCountOf, groupRecords, type GroupCount } from '../../src/store/port.js';
import { record, seed, type FreshStore } from './contract-support.js';

/** Prescriptions as the search index stores them: `requester` entries `{ r, t, i }`, `authoredon` date ranges. */
const RX = [
  record('MedicationRequest', 'm1', { index: { requester: [{ r: 'Practitioner/a', t: 'Practitioner', i: 'a' }], authoredon: [{ lo: '2024-01-01T00:00:00.000Z', hi: '2024-01-01T23:59:59.999Z' }] } }),
  record('MedicationRequest', 'm2', { index: { requester: [{ r: 'Practitioner/a', t: 'Practitioner', i: 'a' }], authoredon: [{ lo: '2024-01-02T00:00:00.000Z', hi: '2024-01-02T23:59:59.999Z' }] } }),
  record('MedicationRequest', 'm3', { index: { requester: [{ r: 'Practitioner/b' }], authoredon: [{ lo: '2024-01-02T00:00:00.000Z', hi: '2024-01-02T23:59:59.999Z' }] } }),
  // Two entries with one value: counted once; an entry without the key, and a record without the field: left out.
  record('MedicationRequest', 'm4', { index: { requester: [{ r: 'Practitioner/b' }, { r: 'Practitioner/b', i: 'b' }, { t: 'Organization' }] } }),
  record('MedicationRequest', 'm5', { index: { subject: [{ r: 'Patient/1' }] } }),
  record('MedicationRequest', 'gone', { index: { requester: [{ r: 'Practitioner/a' }] } }),
  record('MedicationRequest', 'gone', { deleted: true, versionId: 2 }),
  record('Appointment', 'x1', { index: { requester: [{ r: 'Practitioner/a' }], slot: [{ n: 3 }, { n: 4 }, { n: 3 }] } }),
];

const sorted = (groups: GroupCount[]): GroupCount[] => [...groups].sort((a, b) => String(a.value).localeCompare(String(b.value)));

/** `StorePort.groupCount` (issue 18 reports): the same groups on every adapter, and the same as the in-memory fallback. */
export function describeGroupCountContract(ctx: FreshStore): void {
  describe('groupCount', () => {
    beforeEach(() => seed(ctx.store, RX));
    const live = { resourceType: 'MedicationRequest', deleted: false };

    it.each([
      ['every live prescription', live, 'index.requester.r', [{ value: 'Practitioner/a', count: 2 }, { value: 'Practitioner/b', count: 2 }]],
      ['with a date condition', { $and: [live, { 'index.authoredon': { $elemMatch: { lo: { $gte: '2024-01-02T00:00:00.000Z' } } } }] }, 'index.requester.r', [{ value: 'Practitioner/a', count: 1 }, { value: 'Practitioner/b', count: 1 }]],
      ['another key of the entries', live, 'index.requester.i', [{ value: 'a', count: 2 }, { value: 'b', count: 1 }]],
      ['numbers', { resourceType: 'Appointment' }, 'index.slot.n', [{ value: 3, count: 1 }, { value: 4, count: 1 }]],
      ['a path no record has', live, 'index.nothing.r', []],
      ['a filter nothing matches', { resourceType: 'Nothing' }, 'index.requester.r', []],
    ] as const)('%s', async (_name, filter, path, expected) => {
      const groups = sorted(await groupCountOf(ctx.store, 'current', filter, path));
      expect(groups).toEqual(expected);
      expect(sorted(groupRecords(await ctx.store.find('current', filter), path))).toEqual(expected);
    });

    it('refuses a path that is not a key of index entries', async () => {
      await expect(groupCountOf(ctx.store, 'current', live, 'resource.name')).rejects.toThrow(/index\.<field>\.<key>/);
    });
  });
}
