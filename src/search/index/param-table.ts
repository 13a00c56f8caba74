import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { SearchParameter } from '@medplum/fhirtypes';
import type { SearchParamDef, SearchParamType } from '../types.js';
import { directBranch } from './direct-values.js';
import { extractComposite, type CompiledComponent } from './extract-composite.js';
import { extractPhonetic } from './extract-string.js';
import type { Extractor } from './extracted.js';
import type { TypedValue } from './node.js';
import { EXTRACTORS } from './extractors.js';
import { prepareBranch, restrictToType } from './expression.js';

/** One `|` branch of a parameter's expression, compiled once. */
export interface CompiledBranch {
  evaluate(resource: unknown): unknown[];
  /** The branch's typed values read directly from the JSON, without fhirpath.js (direct-values.ts), when it has such a path; undefined for a resource it leaves to fhirpath.js. */
  direct?: (resource: unknown) => TypedValue[] | undefined;
  /** Only references of this type (from `.where(resolve() is T)`). */
  targetType?: string;
  /** Skip evaluation when the resource lacks this top-level element. */
  rootElement?: string;
}

/** A parameter as the index serves it: its public definition plus what extraction needs. */
export interface IndexedParam {
  def: SearchParamDef;
  /** Answered from a record field instead of `record.index` (`_id` → `id`, `_lastUpdated` → `lastUpdated`). */
  recordField?: 'id' | 'lastUpdated';
  branches: CompiledBranch[];
  /** `phonetic` parameters: same expression as `name`, matched by sound (Soundex). */
  phonetic: boolean;
  /** The components of a composite parameter, in definition order. */
  components?: CompiledComponent[];
  /** Turns the values of the branches into entries; undefined for parameters answered from record fields. */
  extractor?: Extractor;
}

/**
 * Parameters not indexed: `_text`/`_content` (narrative and full-text search), `_query`,
 * `_list`, `_has`, `_type` are not value matches on the resource; the search interaction
 * handles or rejects them. `special` parameters (e.g. Location `near`) are skipped likewise.
 */
const NOT_INDEXED = new Set(['_text', '_content', '_query', '_list', '_has', '_type']);
const INDEXED_TYPES = new Set<SearchParamType>(['number', 'date', 'string', 'token', 'reference', 'quantity', 'uri', 'composite']);
const RECORD_FIELDS: Readonly<Record<string, 'id' | 'lastUpdated'>> = { _id: 'id', _lastUpdated: 'lastUpdated' };

// Keep the engine quiet: `trace()` inside an expression must not write to stdout.
const OPTIONS = { resolveInternalTypes: false, traceFn: () => undefined } as const;

function compileExpression(expression: string | { base: string; expression: string }, code: string): (input: unknown) => unknown[] {
  let fn: (input: unknown) => unknown;
  try {
    fn = fhirpath.compile(expression, r4Model, OPTIONS) as (input: unknown) => unknown;
  } catch (err) {
    const text = typeof expression === 'string' ? expression : expression.expression;
    throw new Error(`Search parameter '${code}': cannot compile '${text}': ${(err as Error).message}`);
  }
  return (input) => {
    const result = fn(input);
    return Array.isArray(result) ? result : [result];
  };
}

function compileBranch(branch: string, code: string, resourceType: string): CompiledBranch {
  const { expression, targetType, rootElement } = prepareBranch(branch);
  const direct = directBranch(resourceType, expression);
  return { evaluate: compileExpression(expression, code), ...(direct ? { direct } : {}), ...(targetType ? { targetType } : {}), ...(rootElement ? { rootElement } : {}) };
}
/** A component of a composite before compiling: its parameter's code and type, its expression relative to the composite's element. */
interface ComponentSource {
  code: string;
  type: SearchParamType;
  expression: string | { base: string; expression: string };
  /** The component's expression as the SearchParameter gives it. */
  text: string;
}

/**
 * The components of a composite, each typed by the SearchParameter its `definition` names.
 * Component expressions are relative to the composite's element; fhirpath.js gets that
 * element's path as `base` (for choice types such as `value`) when the composite's first branch
 * is a plain path. Undefined when a component's definition is unknown.
 */
function componentSources(sp: SearchParameter, branch: string, byUrl: ReadonlyMap<string, SearchParameter>): ComponentSource[] | undefined {
  const base = /^[A-Za-z]+(\.[a-z][A-Za-z0-9]*)*$/.test(branch) ? branch : undefined;
  const components: ComponentSource[] = [];
  for (const component of sp.component ?? []) {
    const target = byUrl.get(component.definition ?? '');
    if (!target?.code || !target.type || !component.expression || !INDEXED_TYPES.has(target.type) || target.type === 'composite') return undefined;
    const expression = base ? { base, expression: component.expression } : component.expression;
    components.push({ code: target.code, type: target.type, expression, text: component.expression });
  }
  return components.length > 0 ? components : undefined;
}

/** A parameter described from its SearchParameter, before any FHIRPath is compiled. */
interface DescribedParam {
  def: SearchParamDef;
  recordField?: 'id' | 'lastUpdated';
  branches: string[];
  components?: ComponentSource[];
  phonetic: boolean;
}

function describeParam(sp: SearchParameter, resourceType: string, byUrl: ReadonlyMap<string, SearchParameter>): DescribedParam | undefined {
  const code = sp.code as string;
  const type = sp.type as SearchParamType;
  if (NOT_INDEXED.has(code) || !INDEXED_TYPES.has(type)) return undefined;
  const recordField = RECORD_FIELDS[code];
  const branches = recordField || !sp.expression ? [] : restrictToType(sp.expression, resourceType);
  if (!recordField && branches.length === 0) return undefined;
  const components = type === 'composite' ? componentSources(sp, branches[0], byUrl) : undefined;
  if (type === 'composite' && !components) return undefined;
  const def: SearchParamDef = {
    code,
    type,
    resourceType,
    ...(recordField ? {} : { expression: branches.join(' | ') }),
    ...(sp.target?.length ? { target: [...sp.target] } : {}),
    ...(components ? { component: components.map((c) => ({ code: c.code, type: c.type, expression: c.text })) } : {}),
    ...(sp.url ? { definition: sp.url } : {}),
  };
  const phonetic = code === 'phonetic' || sp.xpathUsage === 'phonetic';
  return { def, ...(recordField ? { recordField } : {}), branches, ...(components ? { components } : {}), phonetic };
}

function compileParam(described: DescribedParam): IndexedParam {
  const { def, recordField, phonetic } = described;
  const components = described.components?.map((c): CompiledComponent => ({ code: c.code, type: c.type, evaluate: compileExpression(c.expression, `${def.code}.${c.code}`) }));
  const extractor: Extractor | undefined = components
    ? (values, context) => extractComposite(components, values, context)
    : phonetic
      ? extractPhonetic
      : EXTRACTORS[def.type];
  return {
    def,
    ...(recordField ? { recordField } : {}),
    branches: described.branches.map((b) => compileBranch(b, def.code, def.resourceType)),
    phonetic,
    ...(components ? { components } : {}),
    ...(extractor && !recordField ? { extractor } : {}),
  };
}

/** The parameters of a type, from the official SearchParameters whose base is the type, `Resource` or `DomainResource`. */
function describeParams(searchParameters: readonly SearchParameter[], resourceType: string, byUrl: ReadonlyMap<string, SearchParameter>): DescribedParam[] {
  const bases = new Set([resourceType, 'Resource', 'DomainResource']);
  const params = new Map<string, DescribedParam>();
  for (const sp of searchParameters) {
    if (!sp.code || params.has(sp.code) || !sp.base?.some((b) => bases.has(b))) continue;
    const param = describeParam(sp, resourceType, byUrl);
    if (param) params.set(param.def.code, param);
  }
  return [...params.values()];
}

const byUrlOf = (searchParameters: readonly SearchParameter[]): Map<string, SearchParameter> => new Map(searchParameters.filter((sp) => sp.url).map((sp) => [sp.url as string, sp]));

/**
 * The indexed parameters of each served type, from the official SearchParameters whose base
 * is the type, `Resource` or `DomainResource`. Multi-type expressions keep only the type's
 * branches. Expressions are compiled here, once; one that fhirpath.js cannot compile fails
 * start-up rather than silently leaving the parameter unindexed.
 */
export function buildParamTable(searchParameters: readonly SearchParameter[], resourceTypes: readonly string[]): Map<string, Map<string, IndexedParam>> {
  const byUrl = byUrlOf(searchParameters);
  return new Map(resourceTypes.map((type) => [type, new Map(describeParams(searchParameters, type, byUrl).map((p) => [p.def.code, compileParam(p)]))]));
}

/**
 * The parameter definitions of a type exactly as `buildParamTable` gives them, without compiling
 * any expression: what compartments, consent and the CapabilityStatement read of a type whose
 * table is compiled on first use (issue 13: compiling the ~60 member types of the Patient
 * compartment at start-up took about a second).
 */
export function paramDefs(searchParameters: readonly SearchParameter[], resourceType: string): Map<string, SearchParamDef> {
  return new Map(describeParams(searchParameters, resourceType, byUrlOf(searchParameters)).map((p) => [p.def.code, p.def]));
}
