import { sortRange, unique, type Entry, type ExtractContext, type Extracted } from './extracted.js';
import { asObject, str, type TypedValue } from './node.js';

/** A reference string, normalized for storage and matching. */
export interface ParsedReference {
  /** `Type/id` for references to this server, the URL as written for others. */
  r: string;
  /** The target's type, also for RESTful URLs of other servers (`http://other/fhir/Patient/1`). */
  type?: string;
}

const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const REST_TAIL = /\/([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * Normalizes a reference (https://hl7.org/fhir/R4/references.html#literal): `Type/id` as is,
 * `<baseUrl>/Type/id` made relative, a version (`/_history/n`) dropped since search matches
 * the resource, not a version; other absolute URLs (other servers, `urn:`) kept as written.
 * Contained references (`#x`) and anything else unparseable give undefined.
 */
export function parseReference(text: string, baseUrl: string | undefined): ParsedReference | undefined {
  let candidate = text;
  if (baseUrl && text.startsWith(`${baseUrl}/`)) candidate = text.slice(baseUrl.length + 1);
  const relative = RELATIVE.exec(candidate);
  if (relative) return { r: `${relative[1]}/${relative[2]}`, type: relative[1] };
  if (!ABSOLUTE.test(text)) return undefined;
  const type = REST_TAIL.exec(text)?.[1];
  return type ? { r: text, type } : { r: text };
}

/**
 * The entry of one Reference: `r` (normalized reference: `Type/id`, `:Type` and bare-id searches
 * all ask for it, compile-reference.ts), `is`/`iv` (its logical identifier, for `:identifier`). A
 * canonical or uri value counts as a reference to that URL.
 */
function entryOf(value: TypedValue, baseUrl: string | undefined): Entry | undefined {
  if (typeof value.value === 'string') {
    // canonical / uri targets; a version suffix (`url|1.0`) identifies the same artifact.
    const parsed = parseReference(value.value.split('|')[0], baseUrl);
    return parsed ? { r: parsed.r } : undefined;
  }
  const element = asObject(value.value);
  if (!element || (value.type !== undefined && value.type !== 'Reference')) return undefined;
  return referenceElementEntry(element, baseUrl).entry;
}

/** A Reference element as read for the index: its entry (see `entryOf`), and the type it points at (`reference`'s, else `type`). */
export interface ReferenceRead {
  entry: Entry | undefined;
  type: string | undefined;
}

/** A Reference element's entry and target type (`ReferenceRead`). */
export function referenceElementEntry(element: Record<string, unknown>, baseUrl: string | undefined): ReferenceRead {
  const e: Entry = {};
  const reference = str(element, 'reference');
  const parsed = reference === undefined ? undefined : parseReference(reference, baseUrl);
  if (parsed) e.r = parsed.r;
  const identifier = asObject(element.identifier);
  if (str(identifier, 'system')) e.is = str(identifier, 'system');
  if (str(identifier, 'value')) e.iv = str(identifier, 'value');
  return { entry: e.r !== undefined || e.iv !== undefined ? e : undefined, type: parsed?.type ?? str(element, 'type') };
}

/**
 * The type a Reference value points at, from its literal reference or its `type`: what
 * `.where(resolve() is T)` tests, answered without resolving.
 */
export function referenceTypeOf(value: TypedValue, baseUrl: string | undefined): string | undefined {
  const element = asObject(value.value);
  const reference = str(element, 'reference');
  return (reference === undefined ? undefined : parseReference(reference, baseUrl)?.type) ?? str(element, 'type');
}

/** Reference entries, sorted by their reference string. */
export function extractReference(values: TypedValue[], context: ExtractContext): Extracted {
  const entries = unique(values.map((v) => entryOf(v, context.baseUrl)).filter((e): e is Entry => e !== undefined));
  const sort = entries.map((e) => e.r as string | undefined).filter((r): r is string => r !== undefined);
  return { entries, sort: sortRange(sort) };
}
