/**
 * Search URL → intermediate representation (https://hl7.org/fhir/R4/search.html).
 * Purely syntactic: which parameters are criteria and which shape the result, how values split
 * into OR-ed alternatives. Whether a criterion names a known parameter is decided later, against
 * the search index, by `criteria.ts`.
 */

/** One criterion occurrence: repeated names are AND-ed, the values of one occurrence OR-ed. */
export interface Criterion {
  /** The parameter name as written: code, modifier, chain or `_has` (e.g. `subject:Patient.name`). */
  name: string;
  /** The value as written (escapes kept), echoed in the `self` link. */
  raw: string;
  /** The OR-ed values: split on unescaped commas, then unescaped. */
  values: string[];
}

export interface SortSpec {
  code: string;
  direction: 1 | -1;
}

/** `_include` / `_revinclude` value: `Source:param[:Target]`, or `*` for every reference parameter. */
export interface IncludeSpec {
  /** As written, for the `self` link. */
  raw: string;
  iterate: boolean;
  source?: string;
  param?: string;
  target?: string;
  wildcard: boolean;
}

export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';
export type TotalMode = 'none' | 'estimate' | 'accurate';

/** A parameter the server does not apply: reported in the Bundle's outcome entry, or a 400 when strict. */
export interface ParamIssue {
  param: string;
  message: string;
}

export interface ParsedSearch {
  criteria: Criterion[];
  sort: SortSpec[];
  /** Undefined when `_count` was not given (the configured default applies). */
  count?: number;
  total?: TotalMode;
  summary?: SummaryMode;
  elements?: string[];
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  cursor?: string;
  issues: ParamIssue[];
}

/**
 * Splits a value on unescaped commas, then removes the escapes `\,` `\|` `\$` `\\`
 * (search.html#escaping). Other backslashes are kept as written.
 */
export function splitValues(raw: string): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '\\' && i + 1 < raw.length && ',|$\\'.includes(raw[i + 1])) {
      current += raw[i + 1];
      i++;
    } else if (ch === ',') {
      values.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  values.push(current);
  return values;
}

const SUMMARY_MODES = new Set<string>(['true', 'text', 'data', 'count', 'false']);
const TOTAL_MODES = new Set<string>(['none', 'estimate', 'accurate']);
const INCLUDE_PARAMS: Readonly<Record<string, { rev: boolean; iterate: boolean }>> = {
  _include: { rev: false, iterate: false },
  '_include:iterate': { rev: false, iterate: true },
  // `:recurse` is the STU3 name of `:iterate`; accepted so older clients keep working.
  '_include:recurse': { rev: false, iterate: true },
  _revinclude: { rev: true, iterate: false },
  '_revinclude:iterate': { rev: true, iterate: true },
  '_revinclude:recurse': { rev: true, iterate: true },
};
/** Result parameters FhirGate does not implement: reported, never silently dropped. */
const UNSUPPORTED_RESULT_PARAMS = new Set(['_contained', '_containedType', '_score']);

function parseInclude(raw: string, iterate: boolean): IncludeSpec | string {
  if (raw === '*') return { raw, iterate, wildcard: true };
  const parts = raw.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.length === 0)) {
    return `'${raw}' is not of the form Source:parameter[:Target] or *`;
  }
  const [source, param, target] = parts;
  if (param === '*') return { raw, iterate, source, wildcard: true, ...(target ? { target } : {}) };
  return { raw, iterate, source, param, wildcard: false, ...(target ? { target } : {}) };
}

function parseSort(raw: string): SortSpec[] | string {
  const specs: SortSpec[] = [];
  for (const part of raw.split(',')) {
    const descending = part.startsWith('-');
    const code = descending ? part.slice(1) : part;
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(code)) return `'${raw}' is not a list of parameter codes, each optionally prefixed with '-'`;
    specs.push({ code, direction: descending ? -1 : 1 });
  }
  return specs;
}

/** One occurrence of a result parameter: applies it to `parsed`, or returns why it cannot. */
function applyResultParam(parsed: ParsedSearch, name: string, value: string): string | undefined {
  switch (name) {
    case '_count': {
      if (!/^\d{1,9}$/.test(value)) return `_count must be a non-negative integer, not '${value.slice(0, 20)}'`;
      parsed.count = Number(value);
      return undefined;
    }
    case '_total':
      if (!TOTAL_MODES.has(value)) return `_total must be none, estimate or accurate, not '${value.slice(0, 20)}'`;
      parsed.total = value as TotalMode;
      return undefined;
    case '_summary':
      if (!SUMMARY_MODES.has(value)) return `_summary must be true, text, data, count or false, not '${value.slice(0, 20)}'`;
      parsed.summary = value as SummaryMode;
      return undefined;
    case '_elements': {
      const elements = value.split(',').map((e) => e.trim()).filter(Boolean);
      if (elements.length === 0) return '_elements needs at least one element name';
      parsed.elements = elements;
      return undefined;
    }
    case '_sort': {
      const sort = parseSort(value);
      if (typeof sort === 'string') return sort;
      parsed.sort = sort;
      return undefined;
    }
    case '_cursor':
      parsed.cursor = value;
      return undefined;
    default:
      return `Result parameter '${name}' is not supported`;
  }
}

const SINGLE_RESULT_PARAMS = new Set(['_count', '_total', '_summary', '_elements', '_sort', '_cursor']);

/**
 * Parses the query (and, for `POST _search`, the form body merged with it) into criteria and result
 * parameters. Problems with result parameters become issues; the caller decides lenient or strict.
 */
export function parseSearch(params: Record<string, string[]>): ParsedSearch {
  const parsed: ParsedSearch = { criteria: [], sort: [], include: [], revinclude: [], issues: [] };
  for (const [name, values] of Object.entries(params)) {
    const include = INCLUDE_PARAMS[name];
    for (const [i, value] of values.entries()) {
      if (include) {
        const spec = parseInclude(value, include.iterate);
        if (typeof spec === 'string') parsed.issues.push({ param: name, message: spec });
        else (include.rev ? parsed.revinclude : parsed.include).push(spec);
      } else if (SINGLE_RESULT_PARAMS.has(name) || UNSUPPORTED_RESULT_PARAMS.has(name)) {
        const problem = i > 0 ? `Parameter '${name}' may appear only once; later occurrences are ignored` : applyResultParam(parsed, name, value);
        if (problem) parsed.issues.push({ param: name, message: problem });
      } else {
        parsed.criteria.push({ name, raw: value, values: splitValues(value) });
      }
    }
  }
  return parsed;
}
