import type { Extension } from '@medplum/fhirtypes';
import type { V2Repetition, V2Segment } from '../message.js';
import type { MapContext } from './context.js';
import { address, codeableConcept, comp, compact, contactPoint, date, dateTime, humanName, identifier, mappedConcept, quantity, vocab } from './datatypes.js';

/**
 * One row of a segment map, as in the IG's segment tables (`segments/<SEG>-to-<Resource>.csv`):
 * v2 field → FHIR element, through a data type map and, for coded fields, a vocabulary map.
 * `target` is an element name, `name[]` to append every repetition, or `ext:<url>` for an extension.
 */
export interface FieldRule {
  field: number;
  target: string;
  type: keyof typeof CONVERTERS;
  /** IG vocabulary map (e.g. `AdministrativeSex`) for coded fields. */
  vocab?: string;
  /** Only when this holds (the IG's "Condition (IF True)" column). */
  when?: (segment: V2Segment) => boolean;
  /** Elements set on the converted value when absent (the IG's "Assignment" column, e.g. telecom use). */
  defaults?: Record<string, unknown>;
}

type Converter = (rep: V2Repetition, ctx: MapContext, rule: FieldRule) => unknown;

/** The data type maps the segment tables refer to (IG `datatypes/`), by v2 type and FHIR target. */
export const CONVERTERS = {
  string: (rep) => comp(rep, 1),
  code: (rep, _ctx, rule) => (rule.vocab ? vocab(rule.vocab, comp(rep, 1))?.code : comp(rep, 1)),
  boolean: (rep) => ({ Y: true, N: false })[comp(rep, 1)?.toUpperCase() ?? ''],
  integer: (rep) => (/^\d+$/.test(comp(rep, 1) ?? '') ? Number(comp(rep, 1)) : undefined),
  date: (rep) => date(comp(rep, 1)),
  dateTime: (rep) => dateTime(comp(rep, 1)),
  CX: (rep, ctx) => identifier(rep, ctx),
  XPN: (rep) => humanName(rep),
  'XPN-string': (rep) => [comp(rep, 2), comp(rep, 1)].filter(Boolean).join(' ') || undefined,
  XAD: (rep) => address(rep),
  XTN: (rep) => contactPoint(rep),
  CWE: (rep, _ctx, rule) => (rule.vocab ? mappedConcept(rep, rule.vocab, v2System(rule.vocab)) : codeableConcept(rep)),
  NM: (rep) => quantity(comp(rep, 1)),
} satisfies Record<string, Converter>;

// The v2 table behind an IG vocabulary map, for the untranslated coding.
const V2_TABLES: Record<string, string> = { MaritalStatus: '0002', Religion: '0006', PrimaryLanguage: '0296', Relationship: '0063', ContactRole: '0131', RouteOfAdministration: '0162' };
const v2System = (vocabName: string): string => `http://terminology.hl7.org/CodeSystem/v2-${V2_TABLES[vocabName] ?? '0000'}`;

const EXTENSION_VALUE: Record<string, string> = { string: 'valueString', 'XPN-string': 'valueString', CWE: 'valueCodeableConcept', XAD: 'valueAddress', dateTime: 'valueDateTime', code: 'valueCode', boolean: 'valueBoolean' };

/** Applies a segment map to a resource under construction (mutates `target`). */
export function applyRules(segment: V2Segment, rules: readonly FieldRule[], ctx: MapContext, target: Record<string, unknown>): void {
  for (const rule of rules) {
    if (rule.when && !rule.when(segment)) continue;
    const convert = CONVERTERS[rule.type] as Converter;
    const values = segment
      .reps(rule.field)
      .map((rep) => compact(convert(rep, ctx, rule)))
      .filter((v) => v !== undefined)
      .map((v) => (rule.defaults && typeof v === 'object' ? { ...v, ...Object.fromEntries(Object.entries(rule.defaults).filter(([k]) => !(k in (v as object)))) } : v));
    if (!values.length) continue;
    if (rule.target.startsWith('ext:')) {
      const ext = { url: rule.target.slice(4), [EXTENSION_VALUE[rule.type] ?? 'valueString']: values[0] } as Extension;
      target.extension = [...((target.extension as Extension[]) ?? []), ext];
    } else if (rule.target.endsWith('[]')) {
      const key = rule.target.slice(0, -2);
      target[key] = [...((target[key] as unknown[]) ?? []), ...values];
    } else if (target[rule.target] === undefined) {
      target[rule.target] = values[0];
    }
  }
}
