import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { describe, expect, it } from 'vitest';
import { failed, guardOf, SURELY_FAILS, SURELY_HOLDS } from '../../src/validation/invariants.js';
import { officialExamples, r4, SERVED_TYPES } from './support.js';

/**
 * Issue 19 item 8: the base invariants `SURELY_HOLDS` skips when the JSON shows they hold must then
 * hold for fhirpath.js too (true or empty, never false). Each condition is checked against
 * fhirpath.js on hand-made elements (both sides of each condition) and on every element of the
 * official examples it applies to; the failures are still reported (negative-cases.test.ts: per-1,
 * cpt-2, ref-1; dom-2/4/5 on contained resources below).
 */

type Json = Record<string, unknown>;

/** The base path of each expression (its element), as the validator compiles it, and the elements to try. */
const CASES: Array<{ key: string; base: string; elements: Json[] }> = [
  { key: 'dom-2', base: 'Patient', elements: [{ resourceType: 'Patient' }, { resourceType: 'Patient', contained: [{ resourceType: 'Practitioner', id: 'p' }] }, { resourceType: 'Patient', contained: [{ resourceType: 'Practitioner', id: 'p', contained: [{ resourceType: 'Patient', id: 'q' }] }] }] },
  { key: 'dom-4', base: 'Patient', elements: [{ resourceType: 'Patient', meta: { versionId: '1' } }, { resourceType: 'Patient', contained: [{ resourceType: 'Practitioner', id: 'p', meta: { versionId: '2' } }] }] },
  { key: 'dom-5', base: 'Practitioner', elements: [{ resourceType: 'Practitioner', meta: { security: [{ code: 'R' }] } }, { resourceType: 'Practitioner', contained: [{ resourceType: 'Patient', id: 'p', meta: { security: [{ code: 'R' }] } }] }] },
  { key: 'dom-6', base: 'Patient', elements: [{ resourceType: 'Patient' }, { resourceType: 'Patient', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' } }, { resourceType: 'Patient', text: { status: 'empty' } }] },
  {
    key: 'ref-1',
    base: 'Reference',
    elements: [{ reference: 'Patient/1' }, { display: 'Dr X' }, { reference: 'http://x/Patient/1' }, { reference: '#c1' }, { reference: '#nowhere' }, { _reference: { extension: [{ url: 'u', valueString: 'v' }] } }, {}],
  },
  { key: 'cpt-2', base: 'ContactPoint', elements: [{ system: 'phone', value: '1' }, { value: '1' }, { use: 'home' }, { system: 'email' }, { _value: { extension: [{ url: 'u', valueString: 'v' }] } }] },
  {
    key: 'pat-1',
    base: 'Patient.contact',
    elements: [
      { name: { family: 'Okafor' } },
      { telecom: [{ system: 'phone', value: '1' }] },
      { address: { city: 'Springfield' } },
      { organization: { reference: 'Organization/1' } },
      { relationship: [{ text: 'next of kin' }], gender: 'female' },
      { telecom: [{}] },
      { name: {} },
      {},
    ],
  },
  { key: 'per-1', base: 'Period', elements: [{ start: '2020-01-01' }, { end: '2020-01-01' }, {}, { start: '2020-02-01', end: '2020-01-01' }, { start: '2020-01-01', end: '2020-02-01' }, { _start: { extension: [{ url: 'u', valueString: 'v' }] }, end: '2020-01-01' }] },
];

/** The R4 constraint of a key (the same text on every type that has it). */
function constraint(key: string): string {
  for (const sd of r4().structureDefinitions.values()) for (const el of sd.snapshot?.element ?? []) for (const c of el.constraint ?? []) if (c.key === key && c.expression) return c.expression;
  throw new Error(`no constraint ${key}`);
}

/** fhirpath.js's verdict on an element, the root resource holding a contained `c1`. */
function viaFhirpath(expression: string, base: string, element: Json): unknown[] {
  const root = base === 'Reference' || base === 'ContactPoint' || base === 'Period' ? { resourceType: 'Patient', contained: [{ resourceType: 'Practitioner', id: 'c1' }] } : element;
  const result = fhirpath.evaluate(element, { base, expression }, { resource: root, rootResource: root, ucum: 'http://unitsofmeasure.org' }, r4Model as never);
  return Array.isArray(result) ? result : [result];
}

/** Every object in `value` whose JSON key names an element of one of the tried types (for the examples). */
function elementsUnder(value: unknown, key: string, out: Json[] = []): Json[] {
  if (Array.isArray(value)) value.forEach((v) => elementsUnder(v, key, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (KEYS[key].includes(k)) for (const item of Array.isArray(v) ? v : [v]) if (item && typeof item === 'object') out.push(item as Json);
      elementsUnder(v, key, out);
    }
  }
  return out;
}
const KEYS: Record<string, string[]> = { 'ref-1': ['subject', 'patient', 'performer', 'requester', 'managingOrganization', 'generalPractitioner', 'who', 'actor', 'assigner', 'medicationReference'], 'cpt-2': ['telecom'], 'per-1': ['period', 'validityPeriod'], 'pat-1': ['contact'] };

describe('SURELY_HOLDS agrees with fhirpath.js', () => {
  it('covers the expressions of dom-2, dom-4, dom-5, dom-6, ref-1, cpt-2, pat-1 and per-1 exactly as R4 words them', () => {
    expect(CASES.map((c) => SURELY_HOLDS[constraint(c.key)] !== undefined)).toEqual(CASES.map(() => true));
  });

  it.each(CASES)('$key: where the condition is met, fhirpath.js never says false; both sides of it are tried', ({ key, base, elements }) => {
    const expression = constraint(key);
    const holds = SURELY_HOLDS[expression];
    const verdicts = elements.map((e) => holds(e));
    expect(verdicts).toContain(true);
    expect(verdicts).toContain(false);
    for (const element of elements) if (holds(element)) expect(failed(viaFhirpath(expression, base, element)), JSON.stringify(element)).toBe(false);
    // The cases the condition leaves to fhirpath.js include real failures.
    if (key !== 'dom-6') expect(elements.some((e) => !holds(e) && failed(viaFhirpath(expression, base, e)))).toBe(true);
  });

  it.each(['ref-1', 'cpt-2', 'per-1', 'pat-1'])('%s on every matching element of the official examples', (key) => {
    const expression = constraint(key);
    const base = CASES.find((c) => c.key === key)!.base;
    const elements = SERVED_TYPES.flatMap((type) => officialExamples(type).flatMap(([, resource]) => elementsUnder(resource, key)));
    // The official examples hold 8 Patient contacts, and more of the others.
    expect(elements.length).toBeGreaterThan(key === 'pat-1' ? 5 : 10);
    for (const element of elements) if (SURELY_HOLDS[expression](element)) expect(failed(viaFhirpath(expression, base, element)), JSON.stringify(element)).toBe(false);
  });
});

describe('SURELY_FAILS agrees with fhirpath.js (issue 14)', () => {
  const FAILS: Array<{ key: string; base: string; elements: Json[] }> = [
    {
      key: 'dom-6',
      base: 'Patient',
      elements: [
        { resourceType: 'Patient' },
        { resourceType: 'Patient', name: [{ family: 'Okafor' }] },
        { resourceType: 'Patient', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' } },
        { resourceType: 'Patient', text: { status: 'empty' } },
        { resourceType: 'Patient', _text: { id: 't' } },
      ],
    },
  ];

  it('covers dom-6 exactly as R4 words it, and nothing else', () => {
    expect(Object.keys(SURELY_FAILS)).toEqual(FAILS.map((c) => constraint(c.key)));
  });

  it.each(FAILS)('$key: where the condition is met, fhirpath.js says false; both sides of it are tried', ({ key, base, elements }) => {
    const expression = constraint(key);
    const fails = SURELY_FAILS[expression];
    const verdicts = elements.map((e) => fails(e));
    expect(verdicts).toContain(true);
    expect(verdicts).toContain(false);
    for (const element of elements) if (fails(element)) expect(failed(viaFhirpath(expression, base, element)), JSON.stringify(element)).toBe(true);
  });
});

describe('guarded invariants (`x.empty() or …`, `x.exists() implies …`) hold without x (issue 19 item 8)', () => {
  /** Every R4 constraint with such a guard, with the element it sits on. */
  const guarded = [...r4().structureDefinitions.values()].flatMap((sd) =>
    (sd.snapshot?.element ?? []).flatMap((el) => (el.constraint ?? []).filter((c) => c.expression && guardOf(c.expression)).map((c) => ({ key: c.key!, path: el.path!, expression: c.expression! }))),
  );
  const verdict = (expression: string, base: string, element: Json): unknown[] | undefined => {
    try {
      const result = fhirpath.evaluate(element, { base, expression }, { resource: element, rootResource: element, ucum: 'http://unitsofmeasure.org' }, r4Model as never);
      return Array.isArray(result) ? result : [result];
    } catch {
      return undefined; // what the validator skips as well
    }
  };

  it('finds them across R4 (tim-1..10, qty-3, ...), and none where implies or xor follows', () => {
    const keys = new Set(guarded.map((g) => g.key));
    expect(guarded.length).toBeGreaterThan(50);
    for (const key of ['tim-1', 'tim-2', 'tim-4', 'tim-5', 'tim-8', 'tim-9', 'tim-10', 'qty-3']) expect(keys.has(key), key).toBe(true);
    expect(guardOf('a.empty() or b implies c')).toBeUndefined();
    expect(guardOf('a.exists() implies b implies c')).toBeUndefined();
    expect(guardOf('a.empty() or b xor c')).toBeUndefined();
    expect(guardOf('a.empty().not() or b')).toBeUndefined();
  });

  it('each holds for fhirpath.js on its element without that child, with other children or none', () => {
    for (const { key, path, expression } of guarded) {
      const name = /^([a-z][A-Za-z0-9]*)\./.exec(expression)![1];
      for (const element of [{}, { id: 'x' }, { extension: [{ url: 'u', valueString: 'v' }] }]) {
        expect(guardOf(expression)!(element), `${key} ${path}`).toBe(true);
        expect(failed(verdict(expression, path, element)), `${key} ${path} ${expression}`).toBe(false);
      }
      // With the child (or its `_x` twin, or a choice variant of it) the guard leaves the decision to fhirpath.js.
      expect([{ [name]: 1 }, { [`_${name}`]: { id: 'x' } }, { [`${name}Quantity`]: { value: 1 } }].map((e) => guardOf(expression)!(e))).toEqual([false, false, false]);
    }
  });

  it('real failures still come from fhirpath.js: tim-1 and qty-3', () => {
    const tim1 = guarded.find((g) => g.key === 'tim-1')!;
    expect(guardOf(tim1.expression)!({ duration: 1 })).toBe(false);
    expect(failed(verdict(tim1.expression, tim1.path, { duration: 1 }))).toBe(true);
    const qty3 = guarded.find((g) => g.key === 'qty-3')!;
    expect(failed(verdict(qty3.expression, qty3.path, { value: 1, code: 'mg' }))).toBe(true);
  });
});
