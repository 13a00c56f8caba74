import type { Parameters } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { instantParam, single } from '../fhir/params.js';

/**
 * The kick-off parameters FhirGate applies (Bulk Data Access 2.0, export.html#query-parameters).
 * `_outputFormat` accepts only ndjson; `_since` filters on `meta.lastUpdated`; `_type` narrows the
 * resource types. Other parameters of the spec (`_elements`, `_typeFilter`, `patient`,
 * `includeAssociatedData`) are refused under `Prefer: handling=strict` and ignored otherwise,
 * as the spec lets a server do.
 */
export interface ExportParams {
  types?: string[];
  since?: string;
  /** Parameters that were given but are not applied (reported in the manifest's error file). */
  ignored: string[];
}

// `application/fhir+ndjson` and its abbreviations the spec requires servers to accept (export.html#query-parameters).
const NDJSON = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const KNOWN = new Set(['_outputFormat', '_since', '_type']);
// Handled at the HTTP edge, never by the operation.
const EDGE = new Set(['_format', '_pretty']);

/** The parameters of a `POST` kick-off (a Parameters resource) as query-style name → values. */
export function paramsOfBody(body: unknown): Record<string, string[]> {
  if (body === undefined || body === null || body === '') return {};
  const parameters = body as Parameters;
  if (typeof body !== 'object' || parameters.resourceType !== 'Parameters') {
    throw new FhirError('bad-request', 'A POST $export kick-off carries a Parameters resource (or no body)');
  }
  const out: Record<string, string[]> = {};
  for (const p of parameters.parameter ?? []) {
    const value = p.valueString ?? p.valueInstant ?? p.valueCode ?? p.valueDateTime ?? p.valueUri;
    if (typeof p.name !== 'string' || typeof value !== 'string') {
      throw new FhirError('bad-request', `Parameter '${String(p.name).slice(0, 40)}' of the kick-off has no string, code, instant or uri value`);
    }
    (out[p.name] ??= []).push(value);
  }
  return out;
}

/**
 * Parses the kick-off parameters; a malformed value is a 400 and an unsupported `_outputFormat`
 * or type too. `served` are the resource types the server serves.
 */
export function parseExportParams(params: Record<string, string[]>, served: readonly string[], strict: boolean): ExportParams {
  const format = single(params, '_outputFormat');
  if (format !== undefined && !NDJSON.has(format)) {
    throw new FhirError('bad-request', `_outputFormat '${format.slice(0, 60)}' is not supported; use application/fhir+ndjson`);
  }
  const since = instantParam(params, '_since');
  // `_type` may repeat and each value may be a comma-separated list (export.html#query-parameters).
  const typeValues = params._type?.flatMap((v) => v.split(',')).map((t) => t.trim()).filter(Boolean);
  const unknownTypes = typeValues?.filter((t) => !served.includes(t)) ?? [];
  if (unknownTypes.length > 0) throw new FhirError('bad-request', `_type names types this server does not serve: ${unknownTypes.slice(0, 5).join(', ').slice(0, 200)}`);
  const ignored = Object.keys(params).filter((name) => !KNOWN.has(name) && !EDGE.has(name));
  if (strict && ignored.length > 0) throw new FhirError('bad-request', `$export does not support ${ignored.slice(0, 5).join(', ').slice(0, 200)}`);
  return { ...(typeValues && typeValues.length > 0 ? { types: [...new Set(typeValues)] } : {}), ...(since ? { since } : {}), ignored };
}
