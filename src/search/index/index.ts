import type { Resource } from '@medplum/fhirtypes';
import type { R4Definitions } from '../../fhir/definitions.js';
import { FhirError } from '../../fhir/errors.js';
import type { Filter } from '../../store/port.js';
import type { SearchIndex, SearchParamDef } from '../types.js';
import { auditEventIndexer } from './audit-event-index.js';
import { compileParam, type CompileContext } from './compile.js';
import type { TerminologySource } from './compile-token.js';
import { extractIndex } from './extract.js';
import type { ExtractContext } from './extracted.js';
import { entriesPath, indexKey, sortKey } from './fields.js';
import { createImpliedSystems } from './implied-system.js';
import { buildParamTable, paramDefs, type IndexedParam } from './param-table.js';

export type { TerminologySource } from './compile-token.js';

/** What the search index is built from; everything arrives from the composition root. */
export interface SearchIndexOptions {
  definitions: R4Definitions;
  /** The served resource types. */
  resourceTypes: readonly string[];
  /** Types whose parameters are compiled at once (default: all of `resourceTypes`); the others on first use. */
  warmTypes?: readonly string[];
  /** Local terminology: `:in` / `:not-in`, and the implied system of plain `code` elements. */
  terminology?: TerminologySource;
  /** The server's FHIR base URL: absolute references under it are stored and matched as `Type/id`. */
  baseUrl?: string;
  /** The clock, for the window of `ap` on dates (defaults to the system clock). */
  clock?: () => Date;
}

const RELATIVE_REFERENCE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * Builds the search index of the served types (issue 3): which parameters exist, what a
 * resource stores in `record.index` (layout in `fields.ts`), and the MongoDB query document of
 * each parameter occurrence. Expressions are compiled once here; `extract` runs at write time.
 */
export function createSearchIndex(options: SearchIndexOptions): SearchIndex {
  // Per-type tables are compiled on first use (issue 17: ~150 types would cost seconds at start-up);
  // `warmTypes` are compiled now, so the first request of a core type does not pay for it.
  const served = new Set(options.resourceTypes);
  const table = new Map<string, Map<string, IndexedParam>>();
  const defs = new Map<string, ReadonlyMap<string, SearchParamDef>>();
  const tableOf = (type: string): Map<string, IndexedParam> | undefined => {
    if (!served.has(type)) return undefined;
    let params = table.get(type);
    if (!params) {
      params = buildParamTable(options.definitions.searchParameters, [type]).get(type)!;
      table.set(type, params);
      if (!defs.has(type)) defs.set(type, new Map([...params].map(([code, p]) => [code, p.def])));
    }
    return params;
  };
  // The definitions alone need no compiling: compartments and the CapabilityStatement read them of every type.
  const defsOf = (type: string): ReadonlyMap<string, SearchParamDef> => {
    let found = defs.get(type);
    if (!found) {
      if (!served.has(type)) throw new FhirError('unknown-type', `Resource type '${type}' is not served by this server`);
      defs.set(type, (found = paramDefs(options.definitions.searchParameters, type)));
    }
    return found;
  };
  for (const type of options.warmTypes ?? options.resourceTypes) tableOf(type);
  const baseUrl = options.baseUrl?.replace(/\/+$/, '');
  const clock = options.clock ?? (() => new Date());
  const extractContext: ExtractContext = {
    ...(baseUrl ? { baseUrl } : {}),
    impliedSystem: createImpliedSystems(options.definitions.structureDefinitions, options.terminology),
  };
  const compileContext: CompileContext = {
    ...(baseUrl ? { baseUrl } : {}),
    ...(options.terminology ? { terminology: options.terminology } : {}),
    now: () => clock().getTime(),
  };
  function paramsOf(resourceType: string): Map<string, IndexedParam> {
    const params = tableOf(resourceType);
    if (!params) throw new FhirError('unknown-type', `Resource type '${resourceType}' is not served by this server`);
    return params;
  }

  function param(resourceType: string, code: string): IndexedParam {
    const found = paramsOf(resourceType).get(code);
    if (!found) throw new FhirError('bad-request', `Unknown search parameter '${code}' for ${resourceType}`);
    return found;
  }

  function referenceParam(resourceType: string, code: string): IndexedParam {
    const found = param(resourceType, code);
    if (found.def.type !== 'reference') throw new FhirError('bad-request', `Search parameter '${code}' of ${resourceType} is not a reference`);
    return found;
  }

  function referencesOf(record: { resourceType: string; index?: Record<string, unknown> }, code: string): string[] {
    const entries = record.index?.[indexKey(code)];
    if (!Array.isArray(entries)) return [];
    const refs = entries.map((e) => (e as { r?: unknown }).r).filter((r): r is string => typeof r === 'string' && RELATIVE_REFERENCE.test(r));
    return [...new Set(refs)];
  }

  // AuditEvents (one per request) from their fixed shape, when the table is the one that code reads (audit-event-index.ts).
  let auditEvents: ((event: unknown) => Record<string, unknown> | undefined) | null | undefined;
  function extract(resource: Resource): Record<string, unknown> {
    const params = paramsOf(resource.resourceType);
    if (resource.resourceType === 'AuditEvent') {
      if (auditEvents === undefined) auditEvents = auditEventIndexer(params, extractContext) ?? null;
      const direct = auditEvents?.(resource);
      if (direct) return direct;
    }
    return extractIndex(resource, params.values(), extractContext);
  }

  return {
    params: defsOf,

    extract,

    compile: (resourceType, code, modifier, values) => compileParam(param(resourceType, code), modifier, values, compileContext),

    compileReferenceIn(resourceType, code, references): Filter {
      referenceParam(resourceType, code);
      return { [`${entriesPath(code)}.r`]: { $in: [...new Set(references)] } };
    },

    referencesOf,

    referencesIn(resource, codes) {
      const params = paramsOf(resource.resourceType);
      const chosen = codes.flatMap((code) => (params.get(code)?.def.type === 'reference' ? [params.get(code)!] : []));
      if (chosen.length === 0) return [];
      const record = { resourceType: resource.resourceType, index: extractIndex(resource, chosen, extractContext) };
      return [...new Set(chosen.flatMap((p) => referencesOf(record, p.def.code)))];
    },

    sortField(resourceType, code, direction) {
      const found = param(resourceType, code);
      if (found.recordField) return found.recordField;
      if (found.def.type === 'composite') throw new FhirError('bad-request', `Search parameter '${code}' is a composite and cannot be sorted on`);
      return `index.${sortKey(code, direction)}`;
    },
  };
}
