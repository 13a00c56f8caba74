import { describe, expect, it } from 'vitest';
import { buildValidator, example, fixture, r4 } from './support.js';

/**
 * Budgets from the validation brief, with headroom for a slow CI machine: building a validator
 * (done at every server start) stays within ~3 s, and a typical Patient validates in well
 * under 5 ms. The loading of the R4 definitions themselves is the caller's and not counted.
 */
describe('validation cost', () => {
  it('builds within budget, and faster again from the shared compiled parts', async () => {
    r4();
    const first = performance.now();
    await buildValidator();
    const firstMs = performance.now() - first;
    const second = performance.now();
    await buildValidator();
    const secondMs = performance.now() - second;
    expect(firstMs).toBeLessThan(3000);
    expect(secondMs).toBeLessThan(firstMs);
  });

  it('validates a typical Patient in well under 5 ms', async () => {
    const validator = await buildValidator();
    const plain = example('Patient', 'example');
    const profiled = fixture('us-core-patient.json');
    for (let i = 0; i < 50; i++) await validator.validate(plain as never);
    const runs = 500;
    const start = performance.now();
    for (let i = 0; i < runs; i++) {
      await validator.validate(plain as never);
      await validator.validate(profiled as never);
    }
    const perValidate = (performance.now() - start) / (2 * runs);
    expect(perValidate).toBeLessThan(5);
  });
});
