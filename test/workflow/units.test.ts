import { describe, expect, it } from 'vitest';
import { addQuantities, toDays, withinLimit } from '../../src/workflow/quantities.js';
import { targetId } from '../../src/workflow/reads.js';

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
