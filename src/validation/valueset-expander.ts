import type { ValueSet, ValueSetComposeInclude, ValueSetComposeIncludeFilter } from '@medplum/fhirtypes';
import type { CodeSystemIndex, IndexedConcept } from './code-system-index.js';

/** One member of an expanded ValueSet. */
export interface TerminologyConcept {
  system: string;
  code: string;
  display?: string;
}

/**
 * Thrown when a ValueSet cannot be expanded from local content alone: it includes a whole
 * external code system (SNOMED CT, UCUM, BCP-47, MIME types...), filters one, or uses a
 * filter operator we do not implement. Callers must then treat the binding as unverifiable
 * rather than reject codes they cannot judge.
 */
export class NotExpandableError extends Error {
  constructor(readonly valueSetUrl: string, reason: string) {
    super(`ValueSet ${valueSetUrl} cannot be expanded locally: ${reason}`);
    this.name = 'NotExpandableError';
  }
}

/** What the expander needs to look things up; `Terminology` provides it. */
export interface ExpansionSource {
  valueSet(url: string): ValueSet | undefined;
  codeSystem(url: string): CodeSystemIndex | undefined;
  /** Expands an imported ValueSet (memoized by the caller, which also guards against cycles). */
  expand(url: string): TerminologyConcept[];
}

const key = (c: TerminologyConcept): string => `${c.system}|${c.code}`;

/**
 * Expands a ValueSet's `compose` following R4 semantics
 * (https://hl7.org/fhir/R4/valueset.html#compose): the union of the includes minus the union
 * of the excludes, where each include is the intersection of its system part and its imports.
 */
export function expandValueSet(valueSet: ValueSet, source: ExpansionSource): TerminologyConcept[] {
  const url = valueSet.url ?? '(no url)';
  if (!valueSet.compose) {
    // A ValueSet published with only an expansion is taken as it stands.
    if (valueSet.expansion?.contains) return flattenExpansion(valueSet.expansion.contains);
    throw new NotExpandableError(url, 'it has neither compose nor expansion');
  }
  const result = new Map<string, TerminologyConcept>();
  for (const include of valueSet.compose.include) {
    for (const c of expandInclude(url, include, source)) if (!result.has(key(c))) result.set(key(c), c);
  }
  for (const exclude of valueSet.compose.exclude ?? []) {
    for (const c of expandInclude(url, exclude, source)) result.delete(key(c));
  }
  return [...result.values()];
}

function flattenExpansion(contains: NonNullable<ValueSet['expansion']>['contains']): TerminologyConcept[] {
  const out: TerminologyConcept[] = [];
  for (const c of contains ?? []) {
    if (c.system && c.code) out.push({ system: c.system, code: c.code, ...(c.display ? { display: c.display } : {}) });
    out.push(...flattenExpansion(c.contains));
  }
  return out;
}

function expandInclude(url: string, include: ValueSetComposeInclude, source: ExpansionSource): TerminologyConcept[] {
  let members: TerminologyConcept[] | undefined;
  if (include.system) members = systemPart(url, include, source);
  for (const imported of include.valueSet ?? []) {
    const other = source.expand(stripVersion(imported));
    if (members === undefined) {
      members = other;
    } else {
      const keep = new Set(other.map(key));
      members = members.filter((c) => keep.has(key(c)));
    }
  }
  return members ?? [];
}

function systemPart(url: string, include: ValueSetComposeInclude, source: ExpansionSource): TerminologyConcept[] {
  const system = include.system as string;
  const codeSystem = source.codeSystem(system);
  if (include.concept?.length) {
    // An explicit list is authoritative even when the code system itself is not held locally
    // (e.g. units-of-time lists seven UCUM codes).
    return include.concept.map((c) => ({
      system,
      code: c.code,
      ...((c.display ?? codeSystem?.get(c.code)?.display) ? { display: c.display ?? codeSystem?.get(c.code)?.display } : {}),
    }));
  }
  if (!codeSystem) throw new NotExpandableError(url, `code system ${system} is not available locally`);
  if (!codeSystem.complete) throw new NotExpandableError(url, `code system ${system} is not complete`);
  let concepts = codeSystem.all();
  for (const filter of include.filter ?? []) concepts = applyFilter(url, codeSystem, concepts, filter);
  return concepts.map((c) => toMember(system, c));
}

function applyFilter(url: string, cs: CodeSystemIndex, concepts: IndexedConcept[], filter: ValueSetComposeIncludeFilter): IndexedConcept[] {
  const { property, op, value } = filter;
  const within = (allowed: IndexedConcept[]): IndexedConcept[] => {
    const codes = new Set(allowed.map((c) => c.code));
    return concepts.filter((c) => codes.has(c.code));
  };
  const self = (code: string): IndexedConcept[] => (cs.get(code) ? [cs.get(code) as IndexedConcept] : []);
  if (property === 'concept' && op === 'is-a') return within([...self(value), ...cs.descendants(value)]);
  if (property === 'concept' && op === 'descendent-of') return within(cs.descendants(value));
  if (property === 'concept' && op === 'is-not-a') {
    const excluded = new Set([value, ...cs.descendants(value).map((c) => c.code)]);
    return concepts.filter((c) => !excluded.has(c.code));
  }
  if (property === 'concept' && op === 'in') return within(value.split(',').flatMap((code) => self(code.trim())));
  if (op === '=') return concepts.filter((c) => (property === 'code' ? c.code === value : c.properties.get(property)?.includes(value)));
  throw new NotExpandableError(url, `filter '${property} ${op}' is not supported`);
}

function toMember(system: string, concept: IndexedConcept): TerminologyConcept {
  return { system, code: concept.code, ...(concept.display ? { display: concept.display } : {}) };
}

/** Canonical references may carry a version (`url|4.0.1`); local content has one version only. */
export function stripVersion(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar === -1 ? canonical : canonical.slice(0, bar);
}
