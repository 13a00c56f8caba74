import { describe, expect, it } from 'vitest';
import { addQuantities, toDays, withinLimit } from '../../src/workflow/quantities.js';
import { targetId } from '../../src/workflow/reads.js';
import { holdKeysOf, hourKeys, lookupKeys } from '../../src/workflow/hold-index.js';
import type { Appointment } from '@medplum/fhirtypes';

describe('toDays (durations of supply)', () => {
  it.each([
    [{ value: 30, code: 'd' }, 30],
    [{ value: 2, code: 'wk' }, 14],
    [{ value: 1, unit: 'month' }, 30],
    [{ value: 48, code: 'h' }, 2],
    [{ value: 10 }, 10],
    [{ value: 3, code: 'mg' }, undefined],
    [{ code: 'd' }, undefined],
    [undefined, undefined],
  ])('%j is %s days', (duration, days) => {
    expect(toDays(duration)).toBe(days);
  });
});

describe('addQuantities (dispensed totals in the prescription unit)', () => {
  const capsules = { value: 30, code: '{capsule}' };
  it.each([
    [[{ value: 10, code: '{capsule}' }, { value: 5, code: '{capsule}' }], 15],
    [[{ value: 10 }, undefined, { value: 2.5, unit: '{capsule}' }], 12.5],
    [[{ value: 1, code: 'box' }], undefined],
    [[], 0],
  ])('%j sum to %s', (quantities, total) => {
    expect(addQuantities(quantities, capsules)).toBe(total);
  });

  it('compares decimal totals without binary rounding surprises', () => {
    expect(withinLimit(0.1 + 0.2, 0.3)).toBe(true);
    expect(withinLimit(0.31, 0.3)).toBe(false);
  });
});

describe('targetId (references a rule follows)', () => {
  it.each([
    ['MedicationRequest/rx1', 'rx1'],
    ['http://fhir.example/fhir/MedicationRequest/rx1', 'rx1'],
    ['MedicationRequest/rx1/_history/3', 'rx1'],
    ['Medication/rx1', undefined],
    ['MedicationRequest?identifier=x|1', undefined],
    ['#contained', undefined],
    [undefined, undefined],
  ])('%s → %s', (reference, id) => {
    expect(targetId(reference === undefined ? undefined : { reference }, 'MedicationRequest')).toBe(id);
  });
});

describe('hold keys (what a booking holds, hour by hour)', () => {
  const ms = (iso: string): number => Date.parse(iso);
  it.each([
    ['2030-01-01T09:00:00Z', '2030-01-01T09:15:00Z', ['P@2030-01-01T09']],
    ['2030-01-01T09:45:00Z', '2030-01-01T10:00:00Z', ['P@2030-01-01T09']],
    ['2030-01-01T09:45:00Z', '2030-01-01T10:00:00.001Z', ['P@2030-01-01T09', 'P@2030-01-01T10']],
    ['2030-01-01T23:30:00Z', '2030-01-02T00:30:00Z', ['P@2030-01-01T23', 'P@2030-01-02T00']],
    ['2030-01-01T09:05:00Z', '2030-01-01T09:05:00Z', ['P@2030-01-01T09']],
    ['2030-01-01T10:00:00+02:00', '2030-01-01T10:30:00+02:00', ['P@2030-01-01T08']],
  ])('[%s, %s) holds %j', (start, end, keys) => {
    expect(hourKeys('P', ms(start), ms(end))).toEqual(keys);
  });

  it('keeps up to 31 days hour by hour, longer as held throughout', () => {
    expect(hourKeys('P', ms('2030-01-01T00:00:00Z'), ms('2030-02-01T00:00:00Z'))).toHaveLength(744);
    expect(hourKeys('P', ms('2030-01-01T00:00:00Z'), ms('2030-02-01T00:00:00.001Z'))).toBeUndefined();
    const slot = { resourceType: 'Slot', schedule: { reference: 'Schedule/s1' }, status: 'busy-unavailable', start: '2030-01-01T00:00:00Z', end: '2030-03-01T00:00:00Z' } as const;
    expect(holdKeysOf(slot)).toEqual(['Schedule/s1@*']);
    // A slot keeps its schedule's hours whatever its status: booking it changes none of its keys.
    expect(holdKeysOf({ ...slot, status: 'free', end: '2030-01-01T00:15:00Z' })).toEqual(['Schedule/s1@2030-01-01T00']);
    expect(holdKeysOf({ ...slot, status: 'busy', end: '2030-01-01T00:15:00Z' })).toEqual(['Schedule/s1@2030-01-01T00']);
    expect(holdKeysOf({ ...slot, schedule: {} })).toEqual([]);
    expect(lookupKeys('Schedule/s1', ms('2030-01-05T09:00:00Z'), ms('2030-01-05T09:15:00Z'))).toEqual(['Schedule/s1@2030-01-05T09', 'Schedule/s1@*']);
  });

  it.each([
    [{ status: 'booked' }, ['Practitioner/d1@2030-01-01T09', 'Practitioner/d2@2030-01-01T09']],
    [{ status: 'proposed' }, []],
    [{ status: 'booked', end: undefined }, []],
  ])('an appointment %j holds %j (declined participants and patients hold nothing)', (change, keys) => {
    const appointment = {
      resourceType: 'Appointment',
      start: '2030-01-01T09:00:00Z',
      end: '2030-01-01T09:30:00Z',
      participant: [
        { actor: { reference: 'Patient/p1' }, status: 'accepted' },
        { actor: { reference: 'Practitioner/d1' }, status: 'accepted' },
        { actor: { reference: 'https://example.org/fhir/Practitioner/d2' }, status: 'tentative' },
        { actor: { reference: 'Practitioner/d3' }, status: 'declined' },
      ],
      ...change,
    } as Appointment;
    expect(holdKeysOf(appointment)).toEqual(keys);
    expect(holdKeysOf({ resourceType: 'Patient' })).toBeUndefined();
  });
});
