import { groupCountOf, type Filter, type StoredRecord, type StorePort } from '../store/port.js';
import { entriesPath } from './index/fields.js';
import type { IncludeSpec, ParamIssue } from './parse.js';
import type { SearchIndex } from './types.js';

/** What `_include` / `_revinclude` need. */
export interface IncludeContext {
  store: StorePort;
  index: SearchIndex;
  /** The served types, in registry order. */
  types: readonly string[];
  /** Most resources included in one page; beyond it the page's includes are cut and a warning added. */
  maxIncludes: number;
}

export interface Included {
  records: StoredRecord[];
  /** True when `maxIncludes` cut the includes short. */
  truncated: boolean;
}

// `:iterate` follows references this many rounds at most, so a reference cycle cannot loop.
const MAX_ROUNDS = 4;

const keyOf = (r: { resourceType: string; id: string }): string => `${r.resourceType}/${r.id}`;

function referenceCodes(index: SearchIndex, type: string): string[] {
  return [...index.params(type).values()].filter((p) => p.type === 'reference').map((p) => p.code);
}

/** Checks each spec against the index: served source and target, a reference parameter. */
export function checkIncludes(ctx: IncludeContext, specs: readonly IncludeSpec[], name: '_include' | '_revinclude'): { applied: IncludeSpec[]; issues: ParamIssue[] } {
  const applied: IncludeSpec[] = [];
  const issues: ParamIssue[] = [];
  if (specs.length === 0) return { applied, issues }; // most searches: no set of every served type to build
  const served = new Set(ctx.types);
  for (const spec of specs) {
    const problem = includeProblem(ctx, served, spec);
    if (problem) issues.push({ param: spec.iterate ? `${name}:iterate` : name, message: problem });
    else applied.push(spec);
  }
  return { applied, issues };
}

function includeProblem(ctx: IncludeContext, served: ReadonlySet<string>, spec: IncludeSpec): string | undefined {
  if (spec.source !== undefined && !served.has(spec.source)) return `'${spec.raw}': ${spec.source} is not a served resource type`;
  if (spec.target !== undefined && !served.has(spec.target)) return `'${spec.raw}': ${spec.target} is not a served resource type`;
  if (spec.wildcard || spec.source === undefined) return undefined;
  const def = ctx.index.params(spec.source).get(spec.param!);
  if (!def || def.type !== 'reference') return `'${spec.raw}': '${spec.param}' is not a reference search parameter of ${spec.source}`;
  if (spec.target !== undefined && def.target && !def.target.includes(spec.target)) return `'${spec.raw}': '${spec.param}' cannot reference a ${spec.target}`;
  return undefined;
}

/**
 * The resources `_include` and `_revinclude` add to a page (search.html#include): each spec
 * applies to the matches, `:iterate` specs also to what was included, round after round.
 * Resources already on the page are never repeated.
 */
export async function resolveIncludes(ctx: IncludeContext, matches: readonly StoredRecord[], include: readonly IncludeSpec[], revinclude: readonly IncludeSpec[]): Promise<Included> {
  const seen = new Set(matches.map(keyOf));
  const records: StoredRecord[] = [];
  let frontier: readonly StoredRecord[] = matches;
  for (let round = 0; round < MAX_ROUNDS && frontier.length > 0; round++) {
    const forward = include.filter((s) => round === 0 || s.iterate);
    const reverse = revinclude.filter((s) => round === 0 || s.iterate);
    if (forward.length === 0 && reverse.length === 0) break;
    const found = [...(await includeForward(ctx, frontier, forward)), ...(await includeReverse(ctx, frontier, reverse))];
    const fresh: StoredRecord[] = [];
    for (const record of found) {
      if (seen.has(keyOf(record))) continue;
      seen.add(keyOf(record));
      if (records.length >= ctx.maxIncludes) return { records, truncated: true };
      records.push(record);
      fresh.push(record);
    }
    frontier = fresh;
  }
  return { records, truncated: false };
}

/** `_include`: the resources the records reference through the named parameters. */
async function includeForward(ctx: IncludeContext, records: readonly StoredRecord[], specs: readonly IncludeSpec[]): Promise<StoredRecord[]> {
  const wanted = new Map<string, Set<string>>();
  const byType = new Map<string, StoredRecord[]>();
  for (const record of records) {
    const group = byType.get(record.resourceType);
    if (group) group.push(record);
    else byType.set(record.resourceType, [record]);
  }
  for (const spec of specs) {
    for (const [source, group] of byType) {
      if (spec.source !== undefined && source !== spec.source) continue;
      for (const ref of await referencesOfGroup(ctx, source, group, spec.wildcard ? referenceCodes(ctx.index, source) : [spec.param!])) {
        const [type, id] = ref.split('/');
        if (!ctx.types.includes(type) || (spec.target !== undefined && type !== spec.target)) continue;
        if (!wanted.has(type)) wanted.set(type, new Set());
        wanted.get(type)!.add(id);
      }
    }
  }
  const found: StoredRecord[] = [];
  for (const [type, ids] of wanted) {
    found.push(...(await ctx.store.find('current', { resourceType: type, id: { $in: [...ids] }, deleted: false }, { sort: { id: 1 }, limit: ctx.maxIncludes + 1 })));
  }
  return found;
}

/**
 * The references records of one type hold through these parameters. For one parameter (what
 * `_include=Type:param` names), their distinct values from the store's index (`groupCount`: on the
 * embedded store one lookup of these resources' search-value rows of that path) instead of each
 * record's whole stored index, which took a JSON parse of every match's index to read one key
 * (issue 13). The values are filtered as `referencesOf` filters a record's entries, and sorted:
 * an adapter's groups come in no promised order, and the included resources' order follows them.
 * For `*`, one lookup per reference parameter would cost more than reading the records' index.
 */
async function referencesOfGroup(ctx: IncludeContext, type: string, records: readonly StoredRecord[], codes: readonly string[]): Promise<string[]> {
  if (codes.length !== 1) return records.flatMap((record) => codes.flatMap((code) => ctx.index.referencesOf(record, code)));
  const [code] = codes;
  const path = entriesPath(code);
  const groups = await groupCountOf(ctx.store, 'current', { resourceType: type, id: { $in: records.map((r) => r.id) } }, `${path}.r`);
  const index = { [path.slice('index.'.length)]: groups.map((g) => ({ r: g.value })) };
  return ctx.index.referencesOf({ resourceType: type, index }, code).sort();
}

/** `_revinclude`: the resources that reference the records through the named parameters. */
async function includeReverse(ctx: IncludeContext, records: readonly StoredRecord[], specs: readonly IncludeSpec[]): Promise<StoredRecord[]> {
  const found: StoredRecord[] = [];
  for (const spec of specs) {
    const sources = spec.source !== undefined ? [spec.source] : ctx.types;
    for (const source of sources) {
      const codes = spec.wildcard ? referenceCodes(ctx.index, source) : [spec.param!];
      for (const code of codes) {
        const def = ctx.index.params(source).get(code)!;
        const targets = records.filter((r) => (spec.target === undefined || r.resourceType === spec.target) && (!def.target || def.target.includes(r.resourceType)));
        if (targets.length === 0) continue;
        const filter: Filter = { $and: [{ resourceType: source, deleted: false }, ctx.index.compileReferenceIn(source, code, targets.map(keyOf))] };
        found.push(...(await ctx.store.find('current', filter, { sort: { id: 1 }, limit: ctx.maxIncludes + 1 })));
      }
    }
  }
  return found;
}
