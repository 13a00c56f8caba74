import { Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import { FhirError } from '../../src/fhir/errors.js';
import { decodeCursor, keysetFilter } from '../../src/search/keyset.js';
import { parseSearch, splitValues } from '../../src/search/parse.js';

describe('splitValues (search.html#escaping)', () => {
  it.each([
    ['a', ['a']],
    ['a,b', ['a', 'b']],
    ['a\\,b', ['a,b']],
    ['a\\,b,c', ['a,b', 'c']],
    ['sys|a\\|b', ['sys|a|b']],
    ['x\\$y', ['x$y']],
    ['back\\\\,slash', ['back\\', 'slash']],
    ['keep\\n', ['keep\\n']],
    ['', ['']],
    ['a,', ['a', '']],
  ])('%s', (raw, expected) => {
    expect(splitValues(raw)).toEqual(expected);
  });
});

describe('parseSearch', () => {
  it('separates criteria from result parameters, keeping repeated criteria (AND)', () => {
    const parsed = parseSearch({ name: ['a,b', 'c'], _count: ['5'], _sort: ['-date,name'], _total: ['none'], _summary: ['true'], _elements: ['name, gender'] });
    expect(parsed.criteria).toEqual([
      { name: 'name', raw: 'a,b', values: ['a', 'b'] },
      { name: 'name', raw: 'c', values: ['c'] },
    ]);
    expect(parsed.count).toBe(5);
    expect(parsed.sort).toEqual([
      { code: 'date', direction: -1 },
      { code: 'name', direction: 1 },
    ]);
    expect(parsed.total).toBe('none');
    expect(parsed.summary).toBe('true');
    expect(parsed.elements).toEqual(['name', 'gender']);
    expect(parsed.issues).toEqual([]);
  });

  it.each([
    ['_include', 'MedicationRequest:subject', { source: 'MedicationRequest', param: 'subject', wildcard: false, iterate: false }],
    ['_include', 'MedicationRequest:subject:Patient', { source: 'MedicationRequest', param: 'subject', target: 'Patient', wildcard: false }],
    ['_include', '*', { wildcard: true }],
    ['_include:iterate', 'Patient:general-practitioner', { iterate: true, param: 'general-practitioner' }],
    ['_include:recurse', 'Patient:link', { iterate: true }],
    ['_revinclude', 'MedicationRequest:*', { source: 'MedicationRequest', wildcard: true }],
  ])('%s=%s', (name, value, expected) => {
    const parsed = parseSearch({ [name]: [value] });
    const specs = name.startsWith('_revinclude') ? parsed.revinclude : parsed.include;
    expect(specs[0]).toMatchObject(expected);
  });

  it.each([
    ['_count', 'abc'],
    ['_count', '-1'],
    ['_total', 'some'],
    ['_summary', 'maybe'],
    ['_sort', 'a,,b'],
    ['_include', 'MedicationRequest'],
    ['_contained', 'true'],
  ])('reports %s=%s', (name, value) => {
    const parsed = parseSearch({ [name]: [value] });
    expect(parsed.issues).toHaveLength(1);
    expect(parsed.issues[0].param).toBe(name);
  });

  it('reports a repeated single-valued result parameter and keeps the first', () => {
    const parsed = parseSearch({ _count: ['3', '4'] });
    expect(parsed.count).toBe(3);
    expect(parsed.issues).toHaveLength(1);
  });
});

describe('keysetFilter with missing sort values (null sorts lowest, as in MongoDB)', () => {
  const records = [{ v: null, id: 'a' }, { id: 'b' }, { v: 'x', id: 'c' }, { v: 'x', id: 'd' }, { v: 'y', id: 'e' }];
  const after = (key: unknown[], direction: 1 | -1, forward = true) =>
    records.filter((r) => new Query(keysetFilter([{ field: 'v', direction }, { field: 'id', direction: 1 }], key, forward)).test(r)).map((r) => r.id);

  it.each([
    [[null, 'a'], 1, ['b', 'c', 'd', 'e']],
    [['x', 'c'], 1, ['d', 'e']],
    [['x', 'c'], -1, ['a', 'b', 'd']],
    [[null, 'a'], -1, ['b']],
    [[null, 'b'], -1, []],
  ] as const)('after %j, direction %i', (key, direction, expected) => {
    expect(after([...key], direction).sort()).toEqual([...expected]);
  });

  it('before a key (previous page)', () => {
    expect(after(['x', 'd'], 1, false).sort()).toEqual(['a', 'b', 'c']);
  });
});

describe('decodeCursor', () => {
  it('accepts scalar keys and refuses anything that could become an operator', () => {
    const token = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    expect(decodeCursor(token(['next', ['a', 1, null]]), 3)).toEqual({ dir: 'next', key: ['a', 1, null] });
    expect(() => decodeCursor(token(['next', [{ $ne: null }, 'a']]), 2)).toThrow(FhirError);
    expect(() => decodeCursor(token(['next', ['a']]), 2)).toThrow(FhirError);
    expect(() => decodeCursor(token(['sideways', ['a']]), 1)).toThrow(FhirError);
  });
});
