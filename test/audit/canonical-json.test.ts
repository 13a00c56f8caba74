import { describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS, linkHash, verifyChain, withLink } from '../../src/audit/chain.js';
import type { AuditEvent } from '@medplum/fhirtypes';

/**
 * The canonical JSON that chain hashes are computed over (issue 14 rewrote it as a loop): it must
 * write exactly what the first version wrote, or every chain stored before would stop verifying.
 * `reference` is that first version, kept here as the definition of the format.
 */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const CASES: Array<[string, unknown]> = [
  ['null', null],
  ['scalars', [true, false, 0, -0, 1.5, 1e21, -3e-7, '', 'text']],
  ['escapes', { 'quote"key': 'line\nbreak\t"and"\\slash', '\u2028': '\u0000\u001f' }],
  ['key order by UTF-16 code unit', { b: 1, a: 2, B: 3, _: 4, '10': 5, '9': 6, é: 7, '😀': 8, '\uffff': 9 }],
  ['undefined members left out', { a: undefined, b: 1, c: { d: undefined } }],
  ['undefined and functions in arrays', [undefined, 1, () => 1, null]],
  ['sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
  ['empty containers', { a: [], b: {}, c: [[], [{}]] }],
  ['nested', { z: [{ y: { x: [1, { w: 'v', a: null }] } }], a: { c: 1, b: [2, 3] } }],
  [
    'an AuditEvent',
    {
      resourceType: 'AuditEvent',
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
      subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
      action: 'R',
      recorded: '2026-12-04T22:06:25.200Z',
      outcome: '0',
      agent: [{ requestor: true, who: { display: 'client' }, network: { address: '::1', type: '2' } }],
      entity: [{ what: { reference: 'Patient/p1/_history/1' } }, { what: { identifier: { value: 'r-1' } }, description: 'X-Request-Id' }],
    },
  ],
];

describe('canonical JSON', () => {
  it.each(CASES)('%s: as chains were always hashed', (_label, value) => {
    expect(canonicalJson(value)).toBe(reference(value));
  });

  it('JSON.parse reads it back as the value (keys sorted)', () => {
    const value = CASES.find(([label]) => label === 'an AuditEvent')![1];
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it('a chain linked with it verifies, and a changed event does not', () => {
    const event = CASES.find(([label]) => label === 'an AuditEvent')![1] as AuditEvent;
    const first = withLink({ ...event, id: 'audit-1' }, 1, GENESIS);
    const firstHash = first.extension!.at(-1)!.extension!.find((e) => e.url === 'hash')!.valueString!;
    expect(firstHash).toBe(linkHash(GENESIS, 1, { ...event, id: 'audit-1' }));
    const second = withLink({ ...event, id: 'audit-2', outcome: '4' }, 2, firstHash);
    expect(verifyChain([second, first])).toEqual({ count: 2 });
    expect(verifyChain([first, { ...second, outcome: '0' }]).firstBreak).toMatchObject({ sequence: 2 });
  });
});
