import { describe, expect, it } from 'vitest';
import { dateRange } from '../../../src/search/index/date-range.js';
import { numberRange } from '../../../src/search/index/number-range.js';
import { escapeRegex, fold, soundex } from '../../../src/search/index/text.js';

describe('dateRange: the implicit range of each precision', () => {
  it.each([
    ['2024', '2024-01-01T00:00:00.000Z', '2024-12-31T23:59:59.999Z'],
    ['2024-02', '2024-02-01T00:00:00.000Z', '2024-02-29T23:59:59.999Z'],
    ['2023-02', '2023-02-01T00:00:00.000Z', '2023-02-28T23:59:59.999Z'],
    ['2024-12-31', '2024-12-31T00:00:00.000Z', '2024-12-31T23:59:59.999Z'],
    ['2024-03-01T10:00', '2024-03-01T10:00:00.000Z', '2024-03-01T10:00:59.999Z'],
    ['2024-03-01T10:00Z', '2024-03-01T10:00:00.000Z', '2024-03-01T10:00:59.999Z'],
    ['2024-03-01T10:00:30Z', '2024-03-01T10:00:30.000Z', '2024-03-01T10:00:30.999Z'],
    ['2024-03-01T10:00:30.5Z', '2024-03-01T10:00:30.500Z', '2024-03-01T10:00:30.599Z'],
    ['2024-03-01T10:00:30.25Z', '2024-03-01T10:00:30.250Z', '2024-03-01T10:00:30.259Z'],
    ['2024-03-01T10:00:30.123Z', '2024-03-01T10:00:30.123Z', '2024-03-01T10:00:30.123Z'],
    ['2024-03-01T10:00:30.123456Z', '2024-03-01T10:00:30.123Z', '2024-03-01T10:00:30.123Z'],
    ['2015-06-26T07:13:00+05:00', '2015-06-26T02:13:00.000Z', '2015-06-26T02:13:00.999Z'],
    ['2012-10-25T22:04:27+11:00', '2012-10-25T11:04:27.000Z', '2012-10-25T11:04:27.999Z'],
    ['2016-05-26T00:41:10-04:00', '2016-05-26T04:41:10.000Z', '2016-05-26T04:41:10.999Z'],
    ['0050', '0050-01-01T00:00:00.000Z', '0050-12-31T23:59:59.999Z'],
    ['9999-12-31T23:59:00-05:00', '9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('%s → [%s, %s]', (text, lo, hi) => {
    expect(dateRange(text)).toEqual({ lo, hi });
  });

  const invalid = [
    ...['', 'now', '24', '2024-13', '2024-02-30', '2023-02-29', '2024-01-01 10:00'],
    ...['2024-01-01T10', '2024-01-01T24:00', '2024-01-01T10:60', '2024-01-01T10:00+15:00', '2024-01-01T10:00:00+0100'],
  ];
  it.each(invalid)('rejects %j', (text) => {
    expect(dateRange(text)).toBeUndefined();
  });
});

describe('numberRange: the implicit range of the significant digits', () => {
  it.each([
    ['100', 100, 99.5, 100.5],
    ['100.00', 100, 99.995, 100.005],
    ['1e2', 100, 50, 150],
    ['1.0e2', 100, 95, 105],
    ['0.1', 0.1, 0.05, 0.15],
    ['-2.5', -2.5, -2.55, -2.45],
    ['+3', 3, 2.5, 3.5],
    ['.5', 0.5, 0.45, 0.55],
    ['5.', 5, 4.5, 5.5],
  ])('%s → %d in [%d, %d)', (text, value, lo, hi) => {
    expect(numberRange(text)).toEqual({ value, lo, hi });
  });

  it.each(['', '.', 'e2', 'ten', '1,5', '0x10', 'Infinity', '1e400'])('rejects %j', (text) => {
    expect(numberRange(text)).toBeUndefined();
  });
});

describe('text helpers', () => {
  it.each([
    ['Müller', 'muller'],
    ['ÉMILE Zoë', 'emile zoe'],
    ['Ångström', 'angstrom'],
    ['SØREN', 'søren'], // ø is a letter of its own, not o with a mark
  ])('fold(%s) = %s', (text, folded) => {
    expect(fold(text)).toBe(folded);
  });

  it('escapes every regex metacharacter', () => {
    const hostile = '^$.*+?()[]{}|\\';
    expect(new RegExp(`^${escapeRegex(hostile)}$`).test(hostile)).toBe(true);
    expect(new RegExp(escapeRegex('a.c')).test('abc')).toBe(false);
  });

  it.each([
    ['Robert', 'r163'],
    ['Rupert', 'r163'],
    ['Ashcraft', 'a261'],
    ['Tymczak', 't522'],
    ['Pfister', 'p236'],
    ['Smith', 's530'],
    ['Smyth', 's530'],
    ['Lee', 'l000'],
  ])('soundex(%s) = %s', (word, code) => {
    expect(soundex(word)).toBe(code);
  });
});
