import { describe, expect, it } from 'vitest';
import { boundedMemo } from '../src/bounded-memo.js';

describe('boundedMemo', () => {
  it('computes each key once, undefined results included, and stays within its bound', () => {
    const calls: string[] = [];
    const memo = boundedMemo((key) => {
      calls.push(key);
      return key.startsWith('x') ? undefined : key.length;
    }, 2);
    expect([memo('ab'), memo('ab'), memo('x1'), memo('x1')]).toEqual([2, 2, undefined, undefined]);
    expect(calls).toEqual(['ab', 'x1']);
    // A third key: the remembered ones are dropped and gathered again.
    expect(memo('abc')).toBe(3);
    expect(memo('ab')).toBe(2);
    expect(calls).toEqual(['ab', 'x1', 'abc', 'ab']);
  });
});
