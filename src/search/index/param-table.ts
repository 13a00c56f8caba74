import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { SearchParameter } from '@medplum/fhirtypes';
import type { SearchParamDef, SearchParamType } from '../types.js';
import { prepareBranch, restrictToType } from './expression.js';

/** One `|` branch of a parameter's expression, compiled once. */
export interface CompiledBranch {
  evaluate(resource: unknown): unknown[];
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
}

/**
 * Parameters not indexed: `_text`/`_content` (narrative and full-text search), `_query`,
 * `_list`, `_has`, `_type` are not value matches on the resource; the search interaction
 * handles or rejects them. `special` (e.g. Location `near`) and `composite` (none on the
 * served types in R4) are skipped likewise.
 */
const NOT_INDEXED = new Set(['_text', '_content', '_query', '_list', '_has', '_type']);
const INDEXED_TYPES = new Set<SearchParamType>(['number', 'date', 'string', 'token', 'reference', 'quantity', 'uri']);
const RECORD_FIELDS: Readonly<Record<string, 'id' | 'lastUpdated'>> = { _id: 'id', _lastUpdated: 'lastUpdated' };

// Keep the engine quiet: `trace()` inside an expression must not write to stdout.
const OPTIONS = { resolveInternalTypes: false, traceFn: () => undefined } as const;

function compileBranch(branch: string, code: string): CompiledBranch {
  const { expression, targetType, rootElement } = prepareBranch(branch);
  let fn: (resource: unknown) => unknown;
  try {
    fn = fhirpath.compile(expression, r4Model, OPTIONS) as (resource: unknown) => unknown;
  } catch (err) {
    throw new Error(`Search parameter '${code}': cannot compile '${expression}': ${(err as Error).message}`);
  }
  return {
    evaluate: (resource) => {
      const result = fn(resource);
      return Array.isArray(result) ? result : [result];
    },
    ...(targetType ? { targetType } : {}),
    ...(rootElement ? { rootElement } : {}),
  };
}

function toParam(sp: SearchParameter, resourceType: string): IndexedParam | undefined {
  const code = sp.code as string;
  const type = sp.type as SearchParamType;
  if (NOT_INDEXED.has(code) || !INDEXED_TYPES.has(type)) return undefined;
  const recordField = RECORD_FIELDS[code];
  const branches = recordField || !sp.expression ? [] : restrictToType(sp.expression, resourceType);
  if (!recordField && branches.length === 0) return undefined;
  const def: SearchParamDef = {
    code,
    type,
    resourceType,
    ...(recordField ? {} : { expression: branches.join(' | ') }),
    ...(sp.target?.length ? { target: [...sp.target] } : {}),
    ...(sp.url ? { definition: sp.url } : {}),
  };
  return {
    def,
    ...(recordField ? { recordField } : {}),
    branches: branches.map((b) => compileBranch(b, code)),
    phonetic: code === 'phonetic' || sp.xpathUsage === 'phonetic',
  };
}

/**
 * The indexed parameters of each served type, from the official SearchParameters whose base
 * is the type, `Resource` or `DomainResource`. Multi-type expressions keep only the type's
 * branches. Expressions are compiled here, once; one that fhirpath.js cannot compile fails
 * start-up rather than silently leaving the parameter unindexed.
 */
export function buildParamTable(searchParameters: readonly SearchParameter[], resourceTypes: readonly string[]): Map<string, Map<string, IndexedParam>> {
  const table = new Map<string, Map<string, IndexedParam>>();
  for (const resourceType of resourceTypes) {
    const bases = new Set([resourceType, 'Resource', 'DomainResource']);
    const params = new Map<string, IndexedParam>();
    for (const sp of searchParameters) {
      if (!sp.code || params.has(sp.code) || !sp.base?.some((b) => bases.has(b))) continue;
      const param = toParam(sp, resourceType);
      if (param) params.set(param.def.code, param);
    }
    table.set(resourceType, params);
  }
  return table;
}
