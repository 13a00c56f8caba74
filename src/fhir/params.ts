import { FhirError } from './errors.js';
import { assertParamSize } from './limits.js';

/** The single value of a parameter; repeating a parameter that takes one value is a 400. */
export function single(params: Record<string, string[]>, name: string): string | undefined {
  const values = params[name];
  if (!values || values.length === 0) return undefined;
  if (values.length > 1) throw new FhirError('bad-request', `Parameter ${name} may appear only once`);
  return values[0];
}

/** `_count`: the page size, defaulted and capped by configuration (search.html#count). */
export function pageSize(params: Record<string, string[]>, paging: { defaultPageSize: number; maxPageSize: number }): number {
  const raw = single(params, '_count');
  if (raw === undefined) return paging.defaultPageSize;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new FhirError('bad-request', `_count must be a non-negative integer, got '${raw.slice(0, 20)}'`);
  return Math.min(n, paging.maxPageSize);
}

// FHIR instant: a full date-time with seconds and a zone (datatypes.html#instant).
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an instant parameter such as `_since` into the store's ISO form. */
export function instantParam(params: Record<string, string[]>, name: string): string | undefined {
  const raw = single(params, name);
  if (raw === undefined) return undefined;
  const ms = Date.parse(raw);
  if (!INSTANT.test(raw) || Number.isNaN(ms)) {
    throw new FhirError('bad-request', `${name} must be an instant with time zone, e.g. 2024-03-05T10:00:00Z, got '${raw.slice(0, 40)}'`);
  }
  return new Date(ms).toISOString();
}

/**
 * Query parameters as name → every value, in order. Built from a Map, so a parameter named
 * `constructor`, `__proto__` or `toString` is a parameter like any other, never an Object builtin
 * (issue 15).
 */
export function paramsOf(entries: Iterable<[string, string]>, keep: (name: string) => boolean = () => true): Record<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of entries) {
    assertParamSize(name, value);
    if (!keep(name)) continue;
    const values = grouped.get(name);
    if (values) values.push(value);
    else grouped.set(name, [value]);
  }
  return Object.fromEntries(grouped);
}
