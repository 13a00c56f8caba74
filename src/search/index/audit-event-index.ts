import { codeToken, items, object, OTHER, primitive, recordedRange, referenceEntries, stringTokens, Tokens, type Obj } from './audit-event-entries.js';
import { referenceElementEntry } from './extract-reference.js';
import { extractString } from './extract-string.js';
import { extractUri } from './extract-uri.js';
import type { ExtractContext, Extracted } from './extracted.js';
import { indexKey, sortKey } from './fields.js';
import type { TypedValue } from './node.js';
import type { IndexedParam } from './param-table.js';

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

  const whoRead = who.map((r) => referenceElementEntry(r, context.baseUrl));
  const whatRead = what.map((r) => referenceElementEntry(r, context.baseUrl));

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
  out.set('source', observer ? referenceEntries([referenceElementEntry(observer, context.baseUrl)]) : undefined);
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
