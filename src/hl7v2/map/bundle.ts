import type { Bundle, BundleEntry, Identifier, Reference, Resource } from '@medplum/fhirtypes';
import type { MapContext } from './context.js';

/** A reference to a bundle entry, assignable to any typed Reference. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyReference = Reference<any>;

/** The search condition of an upsert: `identifier=system|value` (search.html#token). */
export function identifierQuery(id: Identifier): string {
  const esc = (s: string): string => s.replace(/[\\|,$]/g, (c) => `\\${c}`);
  return `identifier=${encodeURIComponent(id.system ? `${esc(id.system)}|${esc(id.value!)}` : esc(id.value!))}`;
}

/**
 * Collects the entries of one message's transaction Bundle (http.html#transaction). Resources
 * refer to each other by their `urn:uuid:` full URLs; the transaction resolves them.
 * The same conditional upsert added twice (one practitioner in PV1-7 and ROL) is one entry.
 */
export class TransactionBuilder {
  private readonly entries: BundleEntry[] = [];
  private readonly byUrl = new Map<string, BundleEntry>();

  /** `ctx.source` (the message) stamps `meta.source` of every entry; `Patient/$merge` builds one without it. */
  constructor(private readonly ctx: Pick<MapContext, 'uuid'> & Partial<Pick<MapContext, 'source'>>) {}

  /** Upsert by identifier: a conditional update `PUT Type?identifier=system|value`. Returns a reference to it. */
  upsert(resource: Resource, by: Identifier): AnyReference {
    const url = `${resource.resourceType}?${identifierQuery(by)}`;
    const known = this.byUrl.get(url);
    if (known) return { reference: known.fullUrl };
    return this.add(resource, { method: 'PUT', url });
  }

  /** The entry an earlier `upsert(resource of type, by)` of this message added, if any. */
  upserted(resourceType: string, by: Identifier): AnyReference | undefined {
    const known = this.byUrl.get(`${resourceType}?${identifierQuery(by)}`);
    return known && { reference: known.fullUrl };
  }

  /** A plain create (`POST Type`), for what has no identifier to be found by. */
  create(resource: Resource): AnyReference {
    return this.add(resource, { method: 'POST', url: resource.resourceType });
  }

  /** Update of a known resource version (`PUT Type/id` with `If-Match`), e.g. a merge's old Patient. */
  update(resource: Resource & { id: string }, versionId?: string): AnyReference {
    return this.add(resource, { method: 'PUT', url: `${resource.resourceType}/${resource.id}`, ...(versionId ? { ifMatch: `W/"${versionId}"` } : {}) });
  }

  /** Replaces an entry's resource (a later segment completing it). */
  replace(reference: AnyReference, resource: Resource): void {
    const entry = this.entries.find((e) => e.fullUrl === reference.reference);
    if (entry) entry.resource = this.stamp(resource);
  }

  /** The entry's resource as built so far. */
  get<T extends Resource>(reference: AnyReference): T | undefined {
    return this.entries.find((e) => e.fullUrl === reference.reference)?.resource as T | undefined;
  }

  bundle(): Bundle {
    return { resourceType: 'Bundle', type: 'transaction', entry: this.entries };
  }

  private add(resource: Resource, request: BundleEntry['request']): AnyReference {
    const fullUrl = `urn:uuid:${this.ctx.uuid()}`;
    const entry: BundleEntry = { fullUrl, resource: this.stamp(resource), request };
    this.entries.push(entry);
    this.byUrl.set(request!.url, entry);
    return { reference: fullUrl };
  }

  private stamp(resource: Resource): Resource {
    if (this.ctx.source === undefined) return resource;
    return { ...resource, meta: { ...resource.meta, source: this.ctx.source } };
  }
}
