import { describe, expect, it } from 'vitest';
import { redact, type Step } from '../../src/crypto/redact.js';

/**
 * What `redact` leaves of a resource and which top-level keys it reports, for every shape of
 * selection: elements removed whole are dropped without being cloned and pruned (issue 14), and
 * must leave exactly what marking and pruning leave.
 */
const base = (): Record<string, unknown> => ({
  resourceType: 'Patient',
  id: 'p1',
  telecom: [{ system: 'phone', value: '555-0100' }, { system: 'email', value: 'a@example.org' }],
  address: [{ city: 'Springfield', line: ['1 Main St', 'Apt 2'] }],
  contact: [{ name: { family: 'Okafor' } }],
  birthDate: '1984-07-19',
  _birthDate: { extension: [{ url: 'http://example.org/x', valueString: 'y' }] },
  name: [{ family: 'Okafor', given: ['Amara', 'Ngozi'], _given: [null, { id: 'g2' }] }],
});

const without = (...keys: string[]): Record<string, unknown> => {
  const copy = base();
  for (const key of keys) delete copy[key];
  return copy;
};

const cases: Array<[string, Step[][], Record<string, unknown>, string[]]> = [
  ['nothing selected', [], base(), []],
  ['an element itself', [['telecom']], without('telecom'), ['telecom']],
  ['every entry of a repeating element', [['telecom', 0], ['telecom', 1]], without('telecom'), ['telecom']],
  ['every entry, in another order, with duplicates', [['telecom', 1], ['telecom', 0], ['telecom', 1]], without('telecom'), ['telecom']],
  ['some entries of a repeating element', [['telecom', 1]], { ...base(), telecom: [{ system: 'phone', value: '555-0100' }] }, ['telecom']],
  ['a primitive with its `_` twin', [['birthDate']], without('birthDate', '_birthDate'), ['birthDate', '_birthDate']],
  ['several elements at once', [['telecom', 0], ['telecom', 1], ['address', 0], ['contact', 0]], without('telecom', 'address', 'contact'), ['telecom', 'address', 'contact']],
  ['a value inside an entry', [['address', 0, 'line', 1]], { ...base(), address: [{ city: 'Springfield', line: ['1 Main St'] }] }, ['address']],
  ['every value of an entry: the entry and the element go', [['address', 0, 'city'], ['address', 0, 'line']], without('address'), ['address']],
  ['the element and a value inside it', [['address', 0, 'line', 0], ['address']], without('address'), ['address']],
  ['a primitive entry and its twin entry (a twin left with nulls only goes)', [['name', 0, 'given', 1]], { ...base(), name: [{ family: 'Okafor', given: ['Amara'] }] }, ['name']],
];

describe('redact', () => {
  it.each(cases)('%s', (_label, paths, expected, keys) => {
    const resource = base();
    const { redacted, keys: reported } = redact(resource, paths);
    expect(redacted).toEqual(expected);
    expect(reported.sort()).toEqual(keys.sort());
    // The input is never modified.
    expect(resource).toEqual(base());
  });

  it('keeps every entry of a repeating element whose twin has entries of its own (pruned, not dropped whole)', () => {
    const resource = { resourceType: 'Patient', id: 'p1', name: [{ family: 'A' }], _name: [{ id: 'n0' }, { id: 'n1' }] };
    const { redacted, keys } = redact(resource, [['name', 0]]);
    expect(redacted).toEqual({ resourceType: 'Patient', id: 'p1', _name: [{ id: 'n1' }] });
    expect(keys.sort()).toEqual(['_name', 'name']);
  });

  it('shares nothing of a partly redacted element with the input', () => {
    const resource = base();
    const { redacted } = redact(resource, [['telecom', 1]]);
    (redacted.telecom as Array<Record<string, unknown>>)[0].value = 'changed';
    expect(resource).toEqual(base());
  });
});
