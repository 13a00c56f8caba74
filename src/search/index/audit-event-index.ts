import { dateRange } from './date-range.js';
import { parseReference } from './extract-reference.js';
import { extractString } from './extract-string.js';
import { extractUri } from './extract-uri.js';
import { sortRange, type Entry, type ExtractContext, type Extracted } from './extracted.js';
import { indexKey, sortKey } from './fields.js';
import { str, type TypedValue } from './node.js';
import type { IndexedParam } from './param-table.js';
import { fold } from './text.js';

/**
 * `record.index` of an AuditEvent computed from its fixed shape (issue 14), in one pass over its
 * agents and entities, instead of evaluating each of its ~24 parameters' expressions on it.
 *
 * The server writes an AuditEvent for every request, so its values are computed more often than
 * any other resource's. Every element the AuditEvent parameters read is found here by its R4 path
 * and typed as the R4 model types it (https://hl7.org/fhir/R4/auditevent.html#search), and the
 * values go through the same normalization as the generic extraction (the same extractors for
 * strings and uris; references, tokens, dates and dedupe done here, each reference parsed once and
 * text folding memoized),
 * so the index is exactly what `extractIndex` gives: `test/search/audit-event-index.test.ts`
 * compares the two on events of every kind the server writes and on client-made ones.
 *
 * Only for the parameter table it was written for (the R4 AuditEvent parameters and the server's
 * `break-glass`): with any other table (a deployment's own AuditEvent parameter) `auditEventIndexer`
 * gives undefined and the generic extraction runs. An event of a shape this code does not read
 * (an element where R4 has none of its type, `meta` with tags or profiles, a break-glass extension
 * valued otherwise than by a boolean: a client-made event) also goes the generic way (undefined).
 */

/** The parameters this indexer answers, with their R4 expressions (`_id` and `_lastUpdated` are record fields). */
const EXPECTED: Readonly<Record<string, string>> = {
  _profile: 'Resource.meta.profile',
  _security: 'Resource.meta.security',
  _source: 'Resource.meta.source',
  _tag: 'Resource.meta.tag',
  action: 'AuditEvent.action',
  address: 'AuditEvent.agent.network.address',
  agent: 'AuditEvent.agent.who',
  'agent-name': 'AuditEvent.agent.name',
  'agent-role': 'AuditEvent.agent.role',
  altid: 'AuditEvent.agent.altId',
  date: 'AuditEvent.recorded',
  entity: 'AuditEvent.entity.what',
  'entity-name': 'AuditEvent.entity.name',
  'entity-role': 'AuditEvent.entity.role',
  'entity-type': 'AuditEvent.entity.type',
  outcome: 'AuditEvent.outcome',
  patient: 'AuditEvent.agent.who.where(resolve() is Patient) | AuditEvent.entity.what.where(resolve() is Patient)',
  policy: 'AuditEvent.agent.policy',
  site: 'AuditEvent.source.site',
  source: 'AuditEvent.source.observer',
  subtype: 'AuditEvent.subtype',
  type: 'AuditEvent.type',
};
const BREAK_GLASS = /^AuditEvent\.extension\.where\(url='([^']+)'\)\.value$/;
const RECORD_FIELDS = new Set(['_id', '_lastUpdated']);

/** Thrown inside a pass when the event is not of the shape read here: the generic extraction takes it. */
class OtherShape extends Error {}
const OTHER = new OtherShape();

type Obj = Record<string, unknown>;

// Folded displays and texts: events repeat a few dozen (`Patient`, `Restful Operation`); bounded.
const FOLDED = new Map<string, string>();
function folded(text: string): string {
  let found = FOLDED.get(text);
  if (found === undefined) {
    found = fold(text);
    if (FOLDED.size < 1024) FOLDED.set(text, found);
  }
  return found;
}

/** An object, or nothing (undefined/null); anything else is another shape. */
function object(value: unknown): Obj | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw OTHER;
  return value as Obj;
}

/** The items of a repeating element (null items skipped, as navigation skips them); a singleton is another shape. */
function items(value: unknown): Obj[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw OTHER;
  const out: Obj[] = [];
  for (const item of value) {
    if (item === null || item === undefined) continue;
    if (typeof item !== 'object' || Array.isArray(item)) throw OTHER;
    out.push(item as Obj);
  }
  return out;
}

/** A primitive string element, or nothing; anything else is another shape. */
function primitive(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw OTHER;
  return value;
}

/** Token entries, deduplicated as `unique` does (same members in the same order). */
class Tokens {
  readonly entries: Entry[] = [];

  add(system: string | undefined, code: string | undefined, display: string | undefined): void {
    if (system === undefined && code === undefined && display === undefined) return;
    const text = display === undefined ? undefined : folded(display);
    const e: Entry = {};
    if (system !== undefined) e.s = system;
    if (code !== undefined) e.c = code;
    if (text !== undefined) e.t = text;
    // Distinct as `unique` tells them (same members, built in the same order); events have a few distinct codings.
    for (const other of this.entries) if (other.s === e.s && other.c === e.c && other.t === e.t) return;
    this.entries.push(e);
  }

  coding(coding: Obj): void {
    this.add(str(coding, 'system'), str(coding, 'code'), str(coding, 'display'));
  }

  concept(concept: Obj): void {
    for (const coding of items(concept.coding)) this.coding(coding);
    const text = str(concept, 'text');
    if (text !== undefined) this.add(undefined, undefined, text);
  }

  /** As `extractToken`: sorted by code, or by text when no entry has a code. */
  extracted(): Extracted | undefined {
    if (this.entries.length === 0) return undefined;
    const codes = this.entries.map((e) => e.c).filter((c): c is string => typeof c === 'string');
    const sort = sortRange(codes.length > 0 ? codes : this.entries.map((e) => e.t).filter((t): t is string => typeof t === 'string'));
    return { entries: this.entries, ...(sort ? { sort } : {}) };
  }
}

/** A Reference as `extract-reference.ts` reads it: its entry (if any) and the type it points at. */
interface ReadReference {
  entry: Entry | undefined;
  type: string | undefined;
}

/** A Reference as `extract-reference.ts` `entryOf` reads it; `referenceTypeOf` for the type it points at. */
function readReference(element: Obj, baseUrl: string | undefined): ReadReference {
  const reference = str(element, 'reference');
  const parsed = reference === undefined ? undefined : parseReference(reference, baseUrl);
  const e: Entry = {};
  if (parsed) {
    e.r = parsed.r;
    if (parsed.type) e.t = parsed.type;
    if (parsed.id) e.i = parsed.id;
  } else if (str(element, 'type')) {
    e.t = str(element, 'type');
  }
  const identifier = element.identifier;
  const id = typeof identifier === 'object' && identifier !== null && !Array.isArray(identifier) ? (identifier as Obj) : undefined;
  if (str(id, 'system')) e.is = str(id, 'system');
  if (str(id, 'value')) e.iv = str(id, 'value');
  const type = parsed?.type ?? str(element, 'type');
  return { entry: e.r !== undefined || e.iv !== undefined ? e : undefined, type };
}

/** Reference entries as `extractReference` gives them: distinct (fresh objects), sorted by `r`; undefined when none. */
function referenceEntries(references: readonly ReadReference[]): Extracted | undefined {
  const entries: Entry[] = [];
  // Distinct as `unique` tells them (same members, built in the same order), found by `r` (or `iv`) first.
  const byValue = new Map<unknown, Entry[]>();
  const sort: string[] = [];
  for (const { entry } of references) {
    if (!entry) continue;
    const value = entry.r ?? entry.iv;
    const same = byValue.get(value);
    if (same?.some((o) => o.r === entry.r && o.t === entry.t && o.i === entry.i && o.is === entry.is && o.iv === entry.iv)) continue;
    const copy: Entry = { ...entry };
    entries.push(copy);
    if (same) same.push(copy);
    else byValue.set(value, [copy]);
    if (entry.r !== undefined) sort.push(entry.r as string);
  }
  if (entries.length === 0) return undefined;
  const range = sortRange(sort);
  return { entries, ...(range ? { sort: range } : {}) };
}

/** A `code` element's token: the code with the system its required binding implies (extract-token.ts). */
function codeToken(value: string | undefined, elementPath: string, context: ExtractContext): Extracted | undefined {
  if (value === undefined) return undefined;
  const tokens = new Tokens();
  tokens.add(context.impliedSystem(elementPath, value), value, undefined);
  return tokens.extracted();
}

/** A plain `string` element as a token (`altid`, `site`): its value as the code. */
function stringTokens(values: readonly string[]): Extracted | undefined {
  const tokens = new Tokens();
  for (const v of values) tokens.add(undefined, v, undefined);
  return tokens.extracted();
}

/** The `recorded` instant: as written when it is already a UTC instant to the millisecond (what the server writes), else by `dateRange`. */
function recordedRange(value: string | undefined): Extracted | undefined {
  if (value === undefined) return undefined;
  const range = UTC_MILLIS.test(value) && realDay(value.slice(0, 10)) ? { lo: value, hi: value } : dateRange(value);
  return range ? { entries: [{ lo: range.lo, hi: range.hi }], sort: { asc: range.lo, desc: range.hi } } : undefined;
}
// A UTC instant to the millisecond, hours, minutes and seconds in range: its range is itself (date-range.ts).
const UTC_MILLIS = /^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
// Days known to exist (`2026-02-30` does not), as `dateRange` tells them; bounded.
const DAYS = new Map<string, boolean>();
function realDay(day: string): boolean {
  let real = DAYS.get(day);
  if (real === undefined) {
    real = dateRange(day) !== undefined;
    if (DAYS.size < 1024) DAYS.set(day, real);
  }
  return real;
}

const typed = (type: string, values: readonly unknown[]): TypedValue[] => values.map((value) => ({ type, value }));

/** The values of an extractor, or undefined when it finds none (the parameter is then absent). */
function some(extracted: Extracted): Extracted | undefined {
  return extracted.entries.length > 0 ? extracted : undefined;
}

/** The event's values by parameter code; throws OTHER for a shape it does not read. */
function valuesOf(event: Obj, breakGlassUrl: string | undefined, context: ExtractContext): Map<string, Extracted | undefined> {
  const meta = object(event.meta);
  if (meta && (meta.profile !== undefined || meta.security !== undefined || meta.source !== undefined || meta.tag !== undefined)) throw OTHER;
  const out = new Map<string, Extracted | undefined>();

  const who: Obj[] = [];
  const names: string[] = [];
  const roles = new Tokens();
  const altIds: string[] = [];
  const addresses: string[] = [];
  const policies: string[] = [];
  for (const agent of items(event.agent)) {
    const w = object(agent.who);
    if (w) who.push(w);
    const name = primitive(agent.name);
    if (name !== undefined) names.push(name);
    for (const role of items(agent.role)) roles.concept(role);
    const altId = primitive(agent.altId);
    if (altId !== undefined) altIds.push(altId);
    const address = primitive(object(agent.network)?.address);
    if (address !== undefined) addresses.push(address);
    if (agent.policy !== undefined && agent.policy !== null) {
      if (!Array.isArray(agent.policy)) throw OTHER;
      for (const p of agent.policy as unknown[]) if (p !== null && p !== undefined) policies.push(primitive(p)!);
    }
  }

  const what: Obj[] = [];
  const entityNames: string[] = [];
  const entityRoles = new Tokens();
  const entityTypes = new Tokens();
  for (const entity of items(event.entity)) {
    const w = object(entity.what);
    if (w) what.push(w);
    const name = primitive(entity.name);
    if (name !== undefined) entityNames.push(name);
    const role = object(entity.role);
    if (role) entityRoles.coding(role);
    const type = object(entity.type);
    if (type) entityTypes.coding(type);
  }

  const subtypes = new Tokens();
  for (const coding of items(event.subtype)) subtypes.coding(coding);
  const type = new Tokens();
  const typeCoding = object(event.type);
  if (typeCoding) type.coding(typeCoding);
  const source = object(event.source);
  const observer = object(source?.observer);
  const site = primitive(source?.site);

  const whoRead = who.map((r) => readReference(r, context.baseUrl));
  const whatRead = what.map((r) => readReference(r, context.baseUrl));

  out.set('action', codeToken(primitive(event.action), 'AuditEvent.action', context));
  out.set('address', addresses.length > 0 ? some(extractString(typed('string', addresses))) : undefined);
  out.set('agent', referenceEntries(whoRead));
  out.set('agent-name', names.length > 0 ? some(extractString(typed('string', names))) : undefined);
  out.set('agent-role', roles.extracted());
  out.set('altid', stringTokens(altIds));
  out.set('date', recordedRange(primitive(event.recorded)));
  out.set('entity', referenceEntries(whatRead));
  out.set('entity-name', entityNames.length > 0 ? some(extractString(typed('string', entityNames))) : undefined);
  out.set('entity-role', entityRoles.extracted());
  out.set('entity-type', entityTypes.extracted());
  out.set('outcome', codeToken(primitive(event.outcome), 'AuditEvent.outcome', context));
  out.set('patient', referenceEntries([...whoRead, ...whatRead].filter((r) => r.type === 'Patient')));
  out.set('policy', policies.length > 0 ? some(extractUri(typed('uri', policies))) : undefined);
  out.set('site', site === undefined ? undefined : stringTokens([site]));
  out.set('source', observer ? referenceEntries([readReference(observer, context.baseUrl)]) : undefined);
  out.set('subtype', subtypes.extracted());
  out.set('type', type.extracted());
  if (breakGlassUrl !== undefined) out.set('break-glass', breakGlass(event, breakGlassUrl));
  return out;
}

/** The break-glass extension's boolean, as a token (`true`/`false`). */
function breakGlass(event: Obj, url: string): Extracted | undefined {
  const tokens = new Tokens();
  for (const extension of items(event.extension)) {
    if (extension.url !== url) continue;
    for (const key of Object.keys(extension)) if ((key.startsWith('value') || key.startsWith('_value')) && key !== 'valueBoolean') throw OTHER;
    const value = extension.valueBoolean;
    if (value === undefined || value === null) continue;
    if (typeof value !== 'boolean') throw OTHER;
    tokens.add(undefined, String(value), undefined);
  }
  return tokens.extracted();
}

/**
 * The direct indexer of AuditEvents for a parameter table, or undefined when the table is not the
 * one it was written for. The indexer gives undefined for an event of another shape.
 */
export function auditEventIndexer(params: ReadonlyMap<string, IndexedParam>, context: ExtractContext): ((event: unknown) => Record<string, unknown> | undefined) | undefined {
  let breakGlassUrl: string | undefined;
  const order: Array<{ code: string; key: string; asc: string; desc: string }> = [];
  for (const [code, param] of params) {
    if (RECORD_FIELDS.has(code) && param.recordField) continue;
    const expression = param.def.expression;
    if (code === 'break-glass' && param.def.type === 'token' && expression && BREAK_GLASS.test(expression)) breakGlassUrl = BREAK_GLASS.exec(expression)![1];
    else if (EXPECTED[code] !== expression || param.phonetic || param.components) return undefined;
    order.push({ code, key: indexKey(code), asc: sortKey(code, 1), desc: sortKey(code, -1) });
  }
  if (order.length !== Object.keys(EXPECTED).length + (breakGlassUrl ? 1 : 0)) return undefined;
  return (event) => {
    let values: Map<string, Extracted | undefined>;
    try {
      values = valuesOf(event as Obj, breakGlassUrl, context);
    } catch (err) {
      if (err === OTHER) return undefined;
      throw err;
    }
    const index: Record<string, unknown> = {};
    for (const { code, key, asc, desc } of order) {
      const extracted = values.get(code);
      if (!extracted) continue;
      index[key] = extracted.entries;
      if (extracted.sort) {
        index[asc] = extracted.sort.asc;
        index[desc] = extracted.sort.desc;
      }
    }
    return index;
  };
}
