import type { Address, CodeableConcept, Coding, ContactPoint, HumanName, Identifier, Period, Quantity } from '@medplum/fhirtypes';
import { text, type V2Repetition } from '../message.js';
import { codingSystem } from './coding-systems.js';
import type { MapContext } from './context.js';
import { VOCABULARY } from './vocabulary.js';

/** Component `i` (sub-component `s`) of a repetition as trimmed text, or undefined. */
export const comp = (rep: V2Repetition | undefined, i: number, s = 1): string | undefined => text(rep?.[i - 1]?.[s - 1]);

/** Drops undefined, empty strings, arrays and objects, so mapped resources carry no empty elements. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function compact<T = any>(value: unknown): T | undefined {
  if (Array.isArray(value)) {
    const items = value.map(compact).filter((v) => v !== undefined);
    return (items.length ? items : undefined) as T | undefined;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [k, compact(v)] as const).filter(([, v]) => v !== undefined);
    return (entries.length ? Object.fromEntries(entries) : undefined) as T | undefined;
  }
  return (value === '' || value === null ? undefined : value) as T | undefined;
}

/** A code of an IG vocabulary map (e.g. `AdministrativeSex`), or undefined when unmapped. */
export function vocab(table: string, code: string | undefined): { code: string; display?: string; system?: string } | undefined {
  return code === undefined ? undefined : VOCABULARY[table]?.[code] ?? VOCABULARY[table]?.[code.toUpperCase()];
}

/** DTM / DT → FHIR dateTime (IG DTM[dateTime]): precision kept; seconds added when minutes are given (FHIR needs them). */
export function dateTime(value: string | undefined): string | undefined {
  const m = value && /^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(\.\d{1,4})?)?([+-]\d{4})?$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  if (!mo) return y;
  if (!d) return `${y}-${mo}`;
  if (!h) return `${y}-${mo}-${d}`;
  const zone = tz ? `${tz.slice(0, 3)}:${tz.slice(3)}` : 'Z';
  return `${y}-${mo}-${d}T${h}:${mi ?? '00'}:${s ?? '00'}${frac ?? ''}${zone}`;
}

/** DTM / DT → FHIR date (IG DTM[date]). */
export function date(value: string | undefined): string | undefined {
  const m = value && /^(\d{4})(\d{2})?(\d{2})?/.exec(value);
  return m ? [m[1], m[2], m[3]].filter(Boolean).join('-') : undefined;
}

/** CWE / CE / CNE → CodeableConcept (IG CWE[CodeableConcept]): primary and alternate coding, text. */
export function codeableConcept(rep: V2Repetition | undefined): CodeableConcept | undefined {
  if (!rep) return undefined;
  const coding = (code?: string, display?: string, system?: string, version?: string): Coding | undefined =>
    code ? compact({ system: codingSystem(system), version, code, display }) : undefined;
  return compact({
    coding: [coding(comp(rep, 1), comp(rep, 2), comp(rep, 3), comp(rep, 7)), coding(comp(rep, 4), comp(rep, 5), comp(rep, 6), comp(rep, 8))],
    text: comp(rep, 9) ?? (comp(rep, 1) ? undefined : comp(rep, 2)),
  });
}

/** CWE → a code through an IG vocabulary map, keeping the v2 code when the map has none. */
export function mappedConcept(rep: V2Repetition | undefined, table: string, v2System: string): CodeableConcept | undefined {
  const code = comp(rep, 1);
  if (!code) return codeableConcept(rep);
  const m = vocab(table, code);
  return compact({
    coding: [m ? { system: m.system, code: m.code, display: m.display } : undefined, { system: codingSystem(comp(rep, 3)) ?? v2System, code, display: comp(rep, 2) }],
    text: comp(rep, 9),
  });
}

/** HD (assigning authority) → Identifier.system through the configured table (IG HD[uri]). */
export function authoritySystem(hd: { namespace?: string; universalId?: string; type?: string }, ctx: MapContext): string | undefined {
  const { namespace, universalId, type } = hd;
  for (const key of [namespace, universalId]) if (key && ctx.identifierSystems[key]) return ctx.identifierSystems[key];
  if (universalId && type?.toUpperCase() === 'ISO') return `urn:oid:${universalId}`;
  if (universalId && ['URI', 'URL'].includes(type?.toUpperCase() ?? '')) return universalId;
  if (universalId && type?.toUpperCase() === 'UUID') return `urn:uuid:${universalId}`;
  const name = namespace ?? universalId;
  return name ? ctx.defaultIdentifierSystem.replace('{authority}', encodeURIComponent(name)) : undefined;
}

/** CX → Identifier (IG CX[Identifier]); an identifier without authority is the sending facility's. */
export function identifier(rep: V2Repetition | undefined, ctx: MapContext, fallbackAuthority = true): Identifier | undefined {
  const value = comp(rep, 1);
  if (!value) return undefined;
  const hd = { namespace: comp(rep, 4, 1), universalId: comp(rep, 4, 2), type: comp(rep, 4, 3) };
  const system = authoritySystem(hd.namespace || hd.universalId ? hd : { namespace: fallbackAuthority ? ctx.sendingFacility : undefined }, ctx);
  const type = comp(rep, 5);
  return compact({
    system,
    value,
    type: type ? { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: type }] } : undefined,
    period: period(comp(rep, 7), comp(rep, 8)),
    assigner: hd.namespace ? { display: hd.namespace } : undefined,
  });
}

/** EI → Identifier (IG EI[Identifier]): entity id and namespace. */
export function entityIdentifier(rep: V2Repetition | undefined, ctx: MapContext, type?: string): Identifier | undefined {
  const value = comp(rep, 1);
  if (!value) return undefined;
  const hd = { namespace: comp(rep, 2), universalId: comp(rep, 3), type: comp(rep, 4) };
  return compact({
    system: authoritySystem(hd.namespace || hd.universalId ? hd : { namespace: ctx.sendingFacility }, ctx),
    value,
    type: type ? { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: type }] } : undefined,
  });
}

export function period(start?: string, end?: string): Period | undefined {
  return compact({ start: dateTime(start), end: dateTime(end) });
}

/** XPN → HumanName (IG XPN[HumanName]). */
export function humanName(rep: V2Repetition | undefined): HumanName | undefined {
  if (!rep) return undefined;
  const use = vocab('NameType', comp(rep, 7))?.code as HumanName['use'];
  return compact({
    use,
    family: comp(rep, 1),
    given: [comp(rep, 2), ...(comp(rep, 3) ?? '').split(' ').filter(Boolean)],
    prefix: [comp(rep, 5)],
    suffix: [comp(rep, 4), comp(rep, 6), comp(rep, 14)],
    period: period(comp(rep, 12) ?? comp(rep, 10, 1), comp(rep, 13) ?? comp(rep, 10, 2)),
  });
}

/** XAD → Address (IG XAD[Address]). */
export function address(rep: V2Repetition | undefined): Address | undefined {
  if (!rep) return undefined;
  const kind = comp(rep, 7);
  return compact({
    use: vocab('AddressType-to-Use', kind)?.code as Address['use'],
    type: vocab('AddressType-to-Type', kind)?.code as Address['type'],
    // XAD-1 is a SAD: street or mailing address, street name, dwelling number (IG SAD[Address]).
    line: [comp(rep, 1, 1), comp(rep, 1, 2), comp(rep, 1, 3), comp(rep, 2), comp(rep, 19)],
    city: comp(rep, 3),
    state: comp(rep, 4),
    postalCode: comp(rep, 5),
    country: comp(rep, 6),
    district: comp(rep, 9),
    period: period(comp(rep, 13) ?? comp(rep, 12, 1), comp(rep, 14) ?? comp(rep, 12, 2)),
  });
}

/** XTN → ContactPoint (IG XTN[ContactPoint]): XTN-1 (or XTN-4 for e-mail, or the number parts). */
export function contactPoint(rep: V2Repetition | undefined): ContactPoint | undefined {
  if (!rep) return undefined;
  const equipment = comp(rep, 3);
  const email = comp(rep, 4);
  const number = [comp(rep, 5) && `+${comp(rep, 5)}`, comp(rep, 6), comp(rep, 7)].filter(Boolean).join(' ');
  const extension = comp(rep, 8) ? ` X${comp(rep, 8)}` : '';
  const value = comp(rep, 12) ?? (number ? number + extension : undefined) ?? comp(rep, 1) ?? email;
  // The IG maps CP (cellular phone) to the R5 system `mobile`; in R4 that is system `phone` with use `mobile`.
  // Without XTN-3, R4 still needs a system with a value (cpt-2): e-mail when it looks like one, else phone.
  const guessed = (email ?? comp(rep, 1) ?? '').includes('@') ? 'email' : value ? 'phone' : undefined;
  const system = email && !comp(rep, 1) ? 'email' : equipment ? vocab('TelecommunicationEquipmentType', equipment)?.code ?? 'other' : guessed;
  const mobile = system === 'mobile';
  return compact({
    system: (mobile ? 'phone' : system) as ContactPoint['system'],
    value: email && !number && !comp(rep, 1) ? email : value,
    use: (mobile ? 'mobile' : vocab('TelecommunicationUseCode', comp(rep, 2))?.code) as ContactPoint['use'],
    rank: Number(comp(rep, 18)) > 0 ? Number(comp(rep, 18)) : undefined,
    period: period(comp(rep, 13), comp(rep, 14)),
  });
}

/** NM + units (CWE) → Quantity (IG CQ[Quantity], CWE[Quantity]); a coded unit keeps its system. */
export function quantity(value: string | null | undefined, units?: V2Repetition): Quantity | undefined {
  if (value === undefined || value === null || value.trim() === '' || !Number.isFinite(Number(value))) return undefined;
  const system = codingSystem(comp(units, 3));
  return compact({ value: Number(value), unit: comp(units, 2) ?? comp(units, 1), system, code: system ? comp(units, 1) : undefined });
}
