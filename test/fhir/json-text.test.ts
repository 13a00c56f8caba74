import type { Bundle, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { rememberJson, toJson } from '../../src/fhir/json-text.js';

/** Issue 13: a search page's resources are serialized once and spliced into the Bundle's JSON. */
const patient = (id: string, family: string): Resource => ({ resourceType: 'Patient', id, name: [{ family }] });
const bundle = (resources: Resource[], extra: Partial<Bundle> = {}): Bundle => ({
  resourceType: 'Bundle',
  id: 'b',
  type: 'searchset',
  total: resources.length,
  link: [{ relation: 'self', url: 'http://x/fhir/Patient?name=%22resource%22' }],
  entry: resources.map((resource) => ({ fullUrl: `http://x/fhir/Patient/${resource.id}`, resource, search: { mode: 'match' } })),
  ...extra,
});

describe('toJson: a Bundle with remembered entry resources', () => {
  const cases: Array<[string, () => Bundle]> = [
    ['no entry remembered', () => bundle([patient('a', 'A'), patient('b', 'B')])],
    ['every entry remembered', () => {
      const rs = [patient('a', 'A'), patient('b', 'B\u2028"}')];
      rs.forEach((r) => rememberJson(r, JSON.stringify(r)));
      return bundle(rs);
    }],
    ['some remembered, an outcome entry, and an entry without a resource', () => {
      const rs = [patient('a', 'A'), patient('b', 'B'), patient('c', 'C')];
      rememberJson(rs[1], JSON.stringify(rs[1]));
      const b = bundle(rs);
      b.entry!.push({ fullUrl: 'urn:uuid:1', resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'not-supported', diagnostics: '\u0000' }] }, search: { mode: 'outcome' } });
      b.entry!.push({ fullUrl: 'urn:uuid:2' });
      return b;
    }],
    ['an empty page', () => bundle([])],
  ];
  it.each(cases)('%s: the same JSON as JSON.stringify', (_, make) => {
    const b = make();
    expect(toJson(b)).toBe(JSON.stringify(b));
  });

  it('sends the remembered text: a resource read as stored is not serialized again', () => {
    const r = patient('a', 'A');
    rememberJson(r, '{"resourceType":"Patient","id":"a","name":[{"family":"A"}]}');
    const b = bundle([r]);
    (r as { name: unknown[] }).name = [];
    expect(JSON.parse(toJson(b)).entry[0].resource).toEqual({ resourceType: 'Patient', id: 'a', name: [{ family: 'A' }] });
  });

  it('serializes any other resource as JSON.stringify does', () => {
    const r = patient('a', 'A');
    rememberJson(r, '{"not":"used"}');
    expect(toJson(r)).toBe(JSON.stringify(r));
  });
});
