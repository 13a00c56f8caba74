import type { Extension, Identifier } from '@medplum/fhirtypes';
import type { V2Repetition, V2Segment } from '../message.js';
import type { MapContext } from './context.js';
import { address, authoritySystem, codeableConcept, comp, compact, contactPoint, date, dateTime, humanName, identifier, mappedConcept, quantity, vocab } from './datatypes.js';

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
  /** The converted value goes into this element of a new object (`communication[].language`). */
  wrap?: string;
  /** For `ext:` targets: the value goes into this sub-extension, one extension per repetition (`patient-citizenship` `code`). */
  sub?: string;
  /** For `identifier[]` targets: the v2-0203 type of the identifiers this field makes, which its `""` removes. */
  identifierType?: string;
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
  // PID-19 (IG PID[Patient]: identifier, type SS, system us-ssn; the IG's trailing dot is a typo).
  SSN: (rep) => typedIdentifier('http://hl7.org/fhir/sid/us-ssn', comp(rep, 1), 'SS'),
  // DLN[Identifier]: DLN-1 value, type DL, DLN-2 issuing state as the system, DLN-3 expiry.
  DLN: (rep, ctx) => compact({ ...typedIdentifier(comp(rep, 2) ? authoritySystem({ namespace: comp(rep, 2) }, ctx) : undefined, comp(rep, 1), 'DL'), period: { end: date(comp(rep, 3)) } }),
  // PID-7 with a time: birthDate keeps the date, the `patient-birthTime` extension the time.
  birthTime: (rep) => (dateTime(comp(rep, 1))?.includes('T') ? { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: dateTime(comp(rep, 1)) }] } : undefined),
  'ST-address': (rep) => (comp(rep, 1) ? { text: comp(rep, 1) } : undefined),
} satisfies Record<string, Converter>;

function typedIdentifier(system: string | undefined, value: string | undefined, type: string): Identifier | undefined {
  return value ? compact({ system, value, type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: type }] } }) : undefined;
}

// The v2 table behind an IG vocabulary map, for the untranslated coding.
const V2_TABLES: Record<string, string> = { MaritalStatus: '0002', Religion: '0006', PrimaryLanguage: '0296', Relationship: '0063', ContactRole: '0131', RouteOfAdministration: '0162' };
const v2System = (vocabName: string): string => `http://terminology.hl7.org/CodeSystem/v2-${V2_TABLES[vocabName] ?? '0000'}`;

const EXTENSION_VALUE: Record<string, string> = { string: 'valueString', 'XPN-string': 'valueString', CWE: 'valueCodeableConcept', XAD: 'valueAddress', 'ST-address': 'valueAddress', dateTime: 'valueDateTime', code: 'valueCode', boolean: 'valueBoolean' };

/** Whether a field holds the v2 null value `""` (v2 ch. 2.5.3: delete the stored value), and nothing else. */
export function isNullField(segment: V2Segment, field: number): boolean {
  const reps = segment.reps(field);
  return reps.length === 1 && reps[0].length === 1 && reps[0][0].length === 1 && reps[0][0][0] === null;
}

/**
 * Removes from a stored resource what a rule's field would have set, for a field sent as `""`:
 * the element, the extensions of its URL, or (identifiers) those of the rule's type.
 */
export function clearTarget(resource: Record<string, unknown>, rule: FieldRule): void {
  if (rule.target.startsWith('ext:')) {
    const url = rule.target.slice(4);
    const kept = ((resource.extension as Extension[] | undefined) ?? []).filter((e) => e.url !== url);
    if (kept.length) resource.extension = kept;
    else delete resource.extension;
    return;
  }
  const key = rule.target.replace(/\[\]$/, '');
  const [head, child] = key.split('.');
  if (child) {
    // A component of a repeating element (`address.district`): removed from each repetition.
    for (const item of [resource[head]].flat() as Array<Record<string, unknown> | undefined>) if (item) delete item[child];
    return;
  }
  if (key === 'identifier') {
    if (!rule.identifierType) return;
    resource.identifier = ((resource.identifier as Identifier[] | undefined) ?? []).filter((i) => !i.type?.coding?.some((c) => c.code === rule.identifierType));
    return;
  }
  delete resource[key];
  delete resource[`_${key.replace(/^_/, '')}`];
}

/** Applies a segment map to a resource under construction (mutates `target`). */
export function applyRules(segment: V2Segment, rules: readonly FieldRule[], ctx: MapContext, target: Record<string, unknown>, cleared?: FieldRule[]): void {
  for (const rule of rules) {
    if (cleared && isNullField(segment, rule.field)) cleared.push(rule);
    if (rule.when && !rule.when(segment)) continue;
    const convert = CONVERTERS[rule.type] as Converter;
    const values = segment
      .reps(rule.field)
      .map((rep) => compact(convert(rep, ctx, rule)))
      .filter((v) => v !== undefined)
      .map((v) => (rule.defaults && typeof v === 'object' ? { ...v, ...Object.fromEntries(Object.entries(rule.defaults).filter(([k]) => !(k in (v as object)))) } : v))
      .map((v) => (rule.wrap ? { [rule.wrap]: v } : v));
    if (!values.length) continue;
    if (rule.target.startsWith('ext:') && rule.sub) {
      const exts = values.map((v) => ({ url: rule.target.slice(4), extension: [{ url: rule.sub, [EXTENSION_VALUE[rule.type] ?? 'valueString']: v }] }) as Extension);
      target.extension = [...((target.extension as Extension[]) ?? []), ...exts];
    } else if (rule.target.startsWith('ext:')) {
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
