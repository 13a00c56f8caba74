import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { Lookup } from './types.js';

/** JSON with sorted keys, for comparing resources whatever the order their elements were built in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The content a write would change: the resource without `id` and `meta` (version, timestamps, source). */
const content = (resource: Resource): string => {
  const { id: _id, meta: _meta, ...rest } = resource;
  return canonical(rest);
};

/** Every `reference` value under `value` (deep). */
function references(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => references(v, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) k === 'reference' && typeof v === 'string' ? out.push(v) : references(v, out);
  return out;
}

function rewrite(value: unknown, from: string, to: string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, from, to));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'reference' && v === from ? to : rewrite(v, from, to)]));
  return value;
}

/**
 * Drops the conditional upserts of a message's transaction that would write exactly what is stored
 * (issue 19 item 7): every ADT names its practitioners and patient, and without this each message
 * wrote a new version of each, burying the real changes in history. The stored resource is read
 * through the same search the mappers use; references to a dropped entry become `Type/id`. An
 * entry is compared once the entries it refers to are settled, so a Patient whose practitioners
 * are unchanged can be unchanged too. Returns the `Type/id` of the resources left as they were.
 */
export async function dropUnchanged(bundle: Bundle, lookup: Lookup): Promise<string[]> {
  let entries = [...(bundle.entry ?? [])];
  const unchanged: string[] = [];
  const pending = new Set(entries.filter(isConditionalPut));
  for (let progress = true; progress && pending.size; ) {
    progress = false;
    const urls = new Set(entries.map((e) => e.fullUrl));
    for (const entry of [...pending]) {
      // Replaced by its rewritten copy (a reference of it now points to a stored resource).
      if (!pending.has(entry)) continue;
      // Still referring to an entry of the bundle: its stored form cannot equal it yet.
      if (references(entry.resource).some((r) => urls.has(r) && r !== entry.fullUrl && [...pending].some((p) => p.fullUrl === r))) continue;
      pending.delete(entry);
      progress = true;
      const resource = entry.resource!;
      const query = entry.request!.url.slice(entry.request!.url.indexOf('?') + 1);
      const found = await lookup(resource.resourceType, query);
      if (found.length !== 1 || content(found[0]) !== content(resource)) continue;
      const id = `${resource.resourceType}/${found[0].id}`;
      unchanged.push(id);
      entries = entries.filter((e) => e !== entry).map((e) => (e.resource ? { ...e, resource: rewrite(e.resource, entry.fullUrl!, id) as Resource } : e));
      for (const p of [...pending]) {
        const updated = entries.find((e) => e.fullUrl === p.fullUrl)!;
        pending.delete(p);
        pending.add(updated);
      }
    }
  }
  bundle.entry = entries;
  return unchanged;
}

/**
 * The conditional upserts a transaction still writes (`Type?criteria`), after `dropUnchanged`:
 * the resources it creates or changes by identifier rather than by id.
 */
export function upsertsOf(bundle: Bundle): string[] {
  return (bundle.entry ?? []).filter(isConditionalPut).map((e) => e.request!.url);
}

const isConditionalPut = (e: BundleEntry): boolean => e.request?.method === 'PUT' && (e.request.url ?? '').includes('?') && !!e.resource;
