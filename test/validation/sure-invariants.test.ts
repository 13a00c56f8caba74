import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { describe, expect, it } from 'vitest';
import { failed, SURELY_HOLDS } from '../../src/validation/invariants.js';
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
const KEYS: Record<string, string[]> = { 'ref-1': ['subject', 'patient', 'performer', 'requester', 'managingOrganization', 'generalPractitioner', 'who', 'actor', 'assigner', 'medicationReference'], 'cpt-2': ['telecom'], 'per-1': ['period', 'validityPeriod'] };

describe('SURELY_HOLDS agrees with fhirpath.js', () => {
  it('covers the expressions of dom-2, dom-4, dom-5, dom-6, ref-1, cpt-2 and per-1 exactly as R4 words them', () => {
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

  it.each(['ref-1', 'cpt-2', 'per-1'])('%s on every matching element of the official examples', (key) => {
    const expression = constraint(key);
    const base = CASES.find((c) => c.key === key)!.base;
    const elements = SERVED_TYPES.flatMap((type) => officialExamples(type).flatMap(([, resource]) => elementsUnder(resource, key)));
    expect(elements.length).toBeGreaterThan(10);
    for (const element of elements) if (SURELY_HOLDS[expression](element)) expect(failed(viaFhirpath(expression, base, element)), JSON.stringify(element)).toBe(false);
  });
});
