import { FhirError } from '../fhir/errors.js';
import { groupCountOf, type Filter, type StoredRecord, type StorePort } from '../store/port.js';
import { entriesPath } from './index/fields.js';
import type { Criterion, ParamIssue } from './parse.js';
import { SearchRefusal } from './refusal.js';
import type { SearchIndex } from './types.js';

/** What compiling criteria needs: the index, the store for chain and `_has` sub-queries, the served types. */
export interface CriteriaContext {
  store: StorePort;
  index: SearchIndex;
  isServed(type: string): boolean;
  /** Most resources a chain or `_has` sub-query may match before the search is refused (400). */
  maxSubqueryMatches: number;
  /**
   * What the requester may see of a type (authorization and Consents, `access-filter.ts`), applied
   * to every sub-query: a chain or `_has` must not match through a resource the requester cannot see.
   */
  restrict?: (type: string) => Promise<Filter | undefined>;
}

export interface CompiledCriteria {
  /** The conjunction of the applied criteria (`{}` when none). */
  filter: Filter;
  applied: Criterion[];
  issues: ParamIssue[];
}

/**
 * A chain or `_has` of the search itself (not nested) left to be answered once the search's other
 * criteria are known (`joined`): `narrow` answers it for the resources those match, `alone`
 * without them (the sub-query by itself, or the 400 of one past the bound).
 */
class JoinLater extends Error {
  /** @param readsIndex `narrow` reads the candidates' search values, not only their ids (a chain follows their references) */
  constructor(
    readonly narrow: (candidates: readonly StoredRecord[]) => Promise<Filter>,
    readonly alone: () => Promise<Filter>,
    readonly readsIndex = false,
  ) {
    super('a sub-query answered with the other criteria');
  }
}

/** A criterion the server cannot apply: reported (lenient) or refused (strict); never a FhirError by itself. */
class ParamProblem extends Error {
  constructor(
    message: string,
    readonly unknownParam = false,
  ) {
    super(message);
  }
}

// Chains and `_has` nest at most this deep (each level is a sub-query).
const MAX_DEPTH = 3;

/** Search parameters of the spec that are not value matches and that FhirGate does not implement. */
const UNSUPPORTED = new Set(['_text', '_content', '_list', '_query', '_filter', '_type']);

/**
 * Compiles the criteria of a search on `type` into one MongoDB filter: occurrences AND-ed, each
 * occurrence's values OR-ed by the index. Unknown or malformed criteria are left out and reported.
 * `scope`: the restriction the search runs under (compartment, access), which bounds its candidates.
 */
export async function compileCriteria(ctx: CriteriaContext, type: string, criteria: readonly Criterion[], scope?: Filter): Promise<CompiledCriteria> {
  const filters: Filter[] = [];
  const applied: Criterion[] = [];
  const issues: ParamIssue[] = [];
  const later: JoinLater[] = [];
  for (const criterion of criteria) {
    try {
      filters.push(await criterionFilter(ctx, type, criterion.name, criterion.values, 0));
      applied.push(criterion);
    } catch (err) {
      if (err instanceof JoinLater) {
        later.push(err);
        applied.push(criterion);
        continue;
      }
      if (!(err instanceof ParamProblem)) throw err;
      issues.push({ param: criterion.name, message: err.message });
    }
  }
  if (later.length > 0) filters.push(...(await joined(ctx, type, scope, filters, later)));
  const filter = filters.length === 0 ? {} : filters.length === 1 ? filters[0] : { $and: filters };
  return { filter, applied, issues };
}

/**
 * Chains and `_has` of the search answered from its other criteria, as a database joins from the
 * selective side: when those match at most the bound, each sub-query is asked only about what
 * those candidates reference (a chain) or what references them (`_has`); otherwise it runs by
 * itself. A chain is left here only when its own sub-query matched past the bound (its tail
 * usually names its target: `patient.identifier=…`); a `_has` always, since its sub-query is
 * usually a broad property of the referrers (`status=active`):
 * `Patient?family=Moore&_has:MedicationRequest:patient:status=active` asks about the Moores'
 * prescriptions only, over any number of active ones.
 */
async function joined(ctx: CriteriaContext, type: string, scope: Filter | undefined, filters: readonly Filter[], later: readonly JoinLater[]): Promise<Filter[]> {
  const identityOnly = !later.some((join) => join.readsIndex);
  const candidates = filters.length === 0 ? undefined : await bounded(ctx, { $and: [{ resourceType: type, deleted: false }, ...(scope ? [scope] : []), ...filters] }, ctx.maxSubqueryMatches, identityOnly);
  const out: Filter[] = [];
  for (const join of later) out.push(candidates ? await join.narrow(candidates) : await join.alone());
  return out;
}

async function criterionFilter(ctx: CriteriaContext, type: string, name: string, values: string[], depth: number): Promise<Filter> {
  if (depth > MAX_DEPTH) throw new ParamProblem(`Chains and _has may nest at most ${MAX_DEPTH} levels`);
  if (name.startsWith('_has:')) return hasFilter(ctx, type, name, values, depth);
  const dot = name.indexOf('.');
  if (dot >= 0) return chainFilter(ctx, type, name.slice(0, dot), name.slice(dot + 1), values, depth);
  const colon = name.indexOf(':');
  const code = colon < 0 ? name : name.slice(0, colon);
  const modifier = colon < 0 ? undefined : name.slice(colon + 1);
  if (UNSUPPORTED.has(code)) throw new ParamProblem(`Search parameter '${code}' is not supported by this server`);
  if (!ctx.index.params(type).has(code)) throw new ParamProblem(`Unknown search parameter '${code}' for ${type}`, true);
  try {
    return ctx.index.compile(type, code, modifier, values);
  } catch (err) {
    if (err instanceof FhirError && !(err instanceof SearchRefusal)) throw new ParamProblem(err.message);
    throw err;
  }
}

function referenceParam(ctx: CriteriaContext, type: string, code: string): { target?: string[] } {
  const def = ctx.index.params(type).get(code);
  if (!def) throw new ParamProblem(`Unknown search parameter '${code}' for ${type}`, true);
  if (def.type !== 'reference') throw new ParamProblem(`Search parameter '${code}' of ${type} is not a reference, so it cannot be chained`);
  return def;
}

/** The sub-query of `type`: current resources matching `filter` that the requester may see. */
async function visible(ctx: CriteriaContext, type: string, filter: Filter): Promise<Filter> {
  const restriction = await ctx.restrict?.(type);
  return { $and: [{ resourceType: type, deleted: false }, ...(restriction ? [restriction] : []), filter] };
}

/** The 400 of a sub-query past the bound. */
function tooMany(ctx: CriteriaContext, what: string): FhirError {
  return new FhirError('bad-request', `${what} matches more than ${ctx.maxSubqueryMatches} resources; add criteria to narrow it`);
}

/**
 * The current resources matching `filter`, or undefined past `bound`: what a sub-query or the
 * candidates of a join read. `identityOnly`: the caller reads their ids only (FindOptions.identityOnly).
 */
async function bounded(ctx: CriteriaContext, filter: Filter, bound: number, identityOnly = false): Promise<StoredRecord[] | undefined> {
  // By id: an order every store walks per type, so a query no value narrows stops at the bound (issue 13).
  const found = await ctx.store.find('current', filter, { limit: bound + 1, sort: { id: 1 }, ...(identityOnly ? { identityOnly } : {}) });
  return found.length > bound ? undefined : found;
}

/**
 * A chained parameter (search.html#chaining), e.g. `subject:Patient.name=peter`: the tail is searched
 * on each target type, and the matches become a reference filter on this type.
 */
async function chainFilter(ctx: CriteriaContext, type: string, head: string, tail: string, values: string[], depth: number): Promise<Filter> {
  const [code, targetType, ...extra] = head.split(':');
  const def = referenceParam(ctx, type, code);
  if (extra.length > 0) throw new ParamProblem(`'${head}' is not a reference parameter with an optional target type`);
  if (targetType !== undefined && (!ctx.isServed(targetType) || (def.target && !def.target.includes(targetType)))) {
    throw new ParamProblem(`'${targetType}' is not a served target type of '${code}' of ${type}`);
  }
  const targets = targetType !== undefined ? [targetType] : (def.target ?? []).filter((t) => ctx.isServed(t));
  const tails: Array<{ target: string; filter: Filter }> = [];
  for (const target of targets) {
    try {
      tails.push({ target, filter: await criterionFilter(ctx, target, tail, values, depth + 1) });
    } catch (err) {
      // Without a target type, a tail unknown to one of several targets only rules that target out.
      if (err instanceof ParamProblem && err.unknownParam && targetType === undefined && targets.length > 1) continue;
      throw err;
    }
  }
  if (tails.length === 0) throw new ParamProblem(`No target type of '${code}' of ${type} has a search parameter '${tail.split(/[.:]/)[0]}'`, true);
  const references: string[] = [];
  for (const { target, filter } of tails) {
    const found = await bounded(ctx, await visible(ctx, target, filter), ctx.maxSubqueryMatches - references.length, true);
    if (found === undefined) {
      const refusal = tooMany(ctx, `The chained parameter '${head}.${tail}'`);
      if (depth > 0) throw refusal;
      throw new JoinLater(
        (candidates) => chainedFor(ctx, type, code, tails, candidates),
        () => Promise.reject(refusal),
        true,
      );
    }
    references.push(...found.map((record) => `${target}/${record.id}`));
  }
  return ctx.index.compileReferenceIn(type, code, references);
}

/** A chain for the search's candidates only: its tail matched among the resources they reference. */
async function chainedFor(ctx: CriteriaContext, type: string, code: string, tails: ReadonlyArray<{ target: string; filter: Filter }>, candidates: readonly StoredRecord[]): Promise<Filter> {
  const referenced = new Set(candidates.flatMap((record) => ctx.index.referencesOf(record, code)));
  const references: string[] = [];
  for (const { target, filter } of tails) {
    const prefix = `${target}/`;
    const ids = [...referenced].filter((ref) => ref.startsWith(prefix)).map((ref) => ref.slice(prefix.length));
    if (ids.length === 0) continue;
    const found = await ctx.store.find('current', await visible(ctx, target, { $and: [filter, { id: { $in: ids } }] }));
    references.push(...found.map((record) => `${prefix}${record.id}`));
  }
  return ctx.index.compileReferenceIn(type, code, references);
}

const HAS = /^_has:([A-Za-z]+):([A-Za-z0-9_-]+):(.+)$/;

/**
 * Reverse chaining (search.html#has), e.g. `Patient?_has:MedicationRequest:subject:status=active`:
 * resources of this type referenced, through `subject`, by a MedicationRequest matching the tail.
 */
async function hasFilter(ctx: CriteriaContext, type: string, name: string, values: string[], depth: number): Promise<Filter> {
  const match = HAS.exec(name);
  if (!match) throw new ParamProblem(`'${name}' is not of the form _has:Type:reference:parameter`);
  const [, source, code, tail] = match;
  if (!ctx.isServed(source)) throw new ParamProblem(`_has names '${source}', which is not a served resource type`);
  const def = referenceParam(ctx, source, code);
  if (def.target && !def.target.includes(type)) throw new ParamProblem(`Search parameter '${code}' of ${source} cannot reference a ${type}`);
  const filter = await criterionFilter(ctx, source, tail, values, depth + 1);
  const alone = async (): Promise<Filter> => {
    const found = await bounded(ctx, await visible(ctx, source, filter), ctx.maxSubqueryMatches);
    if (found === undefined) throw tooMany(ctx, `'${name}'`);
    return { id: { $in: [...referencedIds(ctx, type, code, found)] } };
  };
  if (depth > 0) return alone();
  throw new JoinLater((candidates) => referencedFrom(ctx, type, source, code, filter, candidates), alone);
}

/** Ids of `type` the records reference through `code`. */
function referencedIds(ctx: CriteriaContext, type: string, code: string, records: readonly StoredRecord[]): Set<string> {
  const prefix = `${type}/`;
  const ids = new Set<string>();
  for (const record of records) {
    for (const ref of ctx.index.referencesOf(record, code)) if (ref.startsWith(prefix)) ids.add(ref.slice(prefix.length));
  }
  return ids;
}

/**
 * A `_has` for the search's candidates only: those a `source` matching its tail references,
 * read as the distinct references of those sources from the store's index (`groupCount`), not as
 * records: a practitioner named by thousands of patients is one group, and no record is parsed.
 */
async function referencedFrom(ctx: CriteriaContext, type: string, source: string, code: string, filter: Filter, candidates: readonly StoredRecord[]): Promise<Filter> {
  const prefix = `${type}/`;
  const wanted = new Set(candidates.map((record) => `${prefix}${record.id}`));
  const sources = await visible(ctx, source, { $and: [filter, ctx.index.compileReferenceIn(source, code, [...wanted])] });
  const groups = await groupCountOf(ctx.store, 'current', sources, `${entriesPath(code)}.r`);
  // A source may also reference others through the same parameter: only the candidates count.
  const ids = groups.map((group) => String(group.value)).filter((ref) => wanted.has(ref));
  return { id: { $in: ids.map((ref) => ref.slice(prefix.length)) } };
}
