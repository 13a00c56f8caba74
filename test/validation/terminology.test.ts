import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTerminology, NotExpandableError, Terminology } from '../../src/validation/terminology.js';
import { SERVED_TYPES, r4, TERMINOLOGY_DIR } from './support.js';

const CS = 'http://example.org/CodeSystem/colours';

const colours: CodeSystem = {
  resourceType: 'CodeSystem',
  url: CS,
  status: 'active',
  content: 'complete',
  concept: [
    { code: 'warm', display: 'Warm', concept: [{ code: 'red', display: 'Red', concept: [{ code: 'crimson' }] }, { code: 'orange' }] },
    { code: 'cool', concept: [{ code: 'blue' }] },
    // A child declared by property rather than nesting.
    { code: 'teal', property: [{ code: 'parent', valueCode: 'cool' }] },
  ],
};

const vs = (id: string, compose: ValueSet['compose']): ValueSet => ({ resourceType: 'ValueSet', url: `http://example.org/ValueSet/${id}`, status: 'active', compose });
const url = (id: string): string => `http://example.org/ValueSet/${id}`;
const codes = (t: Terminology, id: string): string[] => t.expand(url(id)).map((c) => c.code).sort();

const terminology = new Terminology([
  colours,
  vs('all', { include: [{ system: CS }] }),
  vs('warm-is-a', { include: [{ system: CS, filter: [{ property: 'concept', op: 'is-a', value: 'warm' }] }] }),
  vs('warm-below', { include: [{ system: CS, filter: [{ property: 'concept', op: 'descendent-of', value: 'warm' }] }] }),
  vs('not-warm', { include: [{ system: CS, filter: [{ property: 'concept', op: 'is-not-a', value: 'warm' }] }] }),
  vs('listed', { include: [{ system: CS, concept: [{ code: 'red' }, { code: 'blue', display: 'Sky' }] }] }),
  vs('imports', { include: [{ valueSet: [url('warm-is-a')] }, { system: 'http://example.org/other', concept: [{ code: 'x' }] }], exclude: [{ system: CS, concept: [{ code: 'crimson' }] }] }),
  vs('intersection', { include: [{ valueSet: [url('warm-is-a'), url('listed')] }] }),
  vs('cool-family', { include: [{ system: CS, filter: [{ property: 'concept', op: 'is-a', value: 'cool' }] }] }),
  vs('external', { include: [{ system: 'http://snomed.info/sct', filter: [{ property: 'concept', op: 'is-a', value: '123' }] }] }),
  vs('uses-external', { include: [{ valueSet: [url('external')] }] }),
  vs('loop', { include: [{ valueSet: [url('loop')] }] }),
]);

describe('Terminology expansion', () => {
  it('includes a whole code system with its nested concepts', () => {
    expect(codes(terminology, 'all')).toEqual(['blue', 'cool', 'crimson', 'orange', 'red', 'teal', 'warm']);
  });

  it('applies is-a, descendent-of and is-not-a over the hierarchy', () => {
    expect(codes(terminology, 'warm-is-a')).toEqual(['crimson', 'orange', 'red', 'warm']);
    expect(codes(terminology, 'warm-below')).toEqual(['crimson', 'orange', 'red']);
    expect(codes(terminology, 'not-warm')).toEqual(['blue', 'cool', 'teal']);
  });

  it('follows parent properties as well as nesting', () => {
    expect(codes(terminology, 'cool-family')).toEqual(['blue', 'cool', 'teal']);
  });

  it('takes explicit concept lists, with displays from the list or the code system', () => {
    expect(terminology.expand(url('listed'))).toEqual([
      { system: CS, code: 'red', display: 'Red' },
      { system: CS, code: 'blue', display: 'Sky' },
    ]);
  });

  it('imports value sets, unions includes and removes excludes', () => {
    expect(terminology.expand(url('imports')).map((c) => `${c.system}|${c.code}`).sort()).toEqual([
      `${CS}|orange`,
      `${CS}|red`,
      `${CS}|warm`,
      'http://example.org/other|x',
    ]);
  });

  it('intersects the value sets imported by one include', () => {
    expect(codes(terminology, 'intersection')).toEqual(['red']);
  });

  it('refuses what it cannot expand locally instead of guessing', () => {
    expect(terminology.hasValueSet(url('external'))).toBe(true);
    expect(terminology.canExpand(url('external'))).toBe(false);
    expect(terminology.canExpand(url('uses-external'))).toBe(false);
    expect(terminology.canExpand(url('loop'))).toBe(false);
    expect(terminology.canExpand(url('missing'))).toBe(false);
    expect(() => terminology.expand(url('external'))).toThrow(NotExpandableError);
    expect(() => terminology.validateCode(url('missing'), undefined, 'x')).toThrow(/not held locally/);
  });
});

describe('Terminology.validateCode', () => {
  it('checks system and code together when a system is given', () => {
    expect(terminology.validateCode(url('warm-is-a'), CS, 'crimson')).toBe(true);
    expect(terminology.validateCode(url('warm-is-a'), CS, 'blue')).toBe(false);
    expect(terminology.validateCode(url('warm-is-a'), 'http://example.org/other', 'red')).toBe(false);
  });

  it('checks the code alone for a plain code element', () => {
    expect(terminology.validateCode(url('imports'), undefined, 'x')).toBe(true);
    expect(terminology.validateCode(url('imports'), undefined, 'crimson')).toBe(false);
  });

  it('ignores a version on the value set canonical', () => {
    expect(terminology.validateCode(`${url('all')}|1.0.0`, CS, 'teal')).toBe(true);
  });
});

describe('the generated terminology folder', () => {
  let loaded: Terminology;
  beforeAll(async () => {
    loaded = await loadTerminology(TERMINOLOGY_DIR);
  });

  it('expands the core value sets the served types bind', () => {
    expect(loaded.expand('http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1').map((c) => c.code)).toEqual(['male', 'female', 'other', 'unknown']);
    expect(loaded.validateCode('http://hl7.org/fhir/ValueSet/units-of-time', 'http://unitsofmeasure.org', 'wk')).toBe(true);
    expect(loaded.validateCode('http://hl7.org/fhir/ValueSet/event-timing', 'http://terminology.hl7.org/CodeSystem/v3-TimingEvent', 'HS')).toBe(true);
    expect(loaded.validateCode('http://hl7.org/fhir/us/core/ValueSet/omb-race-category', 'http://terminology.hl7.org/CodeSystem/v3-NullFlavor', 'ASKU')).toBe(true);
  });

  it('holds every required binding of the served types; only grammar-defined systems (syntax-checked) cannot expand', () => {
    const external = new Set(['http://hl7.org/fhir/ValueSet/mimetypes', 'http://hl7.org/fhir/ValueSet/currencies']);
    const required = new Set<string>();
    const seen = new Set<string>();
    const visit = (type: string): void => {
      if (seen.has(type)) return;
      seen.add(type);
      for (const el of r4().structureDefinitions.get(type)?.snapshot?.element ?? []) {
        if (el.binding?.strength === 'required' && el.binding.valueSet) required.add(el.binding.valueSet.split('|')[0]);
        for (const t of el.type ?? []) if (/^[A-Z]/.test(t.code)) visit(t.code);
      }
    };
    SERVED_TYPES.forEach(visit);
    const unexpandable = [...required].filter((u) => !loaded.canExpand(u));
    expect(unexpandable.sort()).toEqual([...external].sort());
    expect([...external].every((u) => loaded.hasValueSet(u))).toBe(true);
  });
});
