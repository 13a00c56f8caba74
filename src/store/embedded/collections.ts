import type { CollectionName, StoredRecord } from '../port.js';

/** Everything stored about one resource: its current record and every version by versionId. */
export interface ResourceEntry {
  current: StoredRecord;
  /** Insertion (commit) order, which is version order. */
  versions: Map<number, StoredRecord>;
}

/**
 * The in-memory state: resources grouped by type, then id. Reads of one resource or one
 * version are two map lookups, a type-pinned scan touches only that type, and instance
 * history is the resource's own version map. `current` and `history` are views of the same
 * entries, since the current record is always the latest version written.
 *
 * Records held here are never handed out: readers receive copies (see query.ts).
 */
export class Collections {
  readonly #types = new Map<string, Map<string, ResourceEntry>>();
  #resourceCount = 0;
  readonly #revisions = new Map<string, number>();

  /** Makes each record current and appends it to its resource's history, in order. */
  apply(records: readonly StoredRecord[]): void {
    for (const record of records) {
      this.#revisions.set(record.resourceType, (this.#revisions.get(record.resourceType) ?? 0) + 1);
      let byId = this.#types.get(record.resourceType);
      if (!byId) this.#types.set(record.resourceType, (byId = new Map()));
      const entry = byId.get(record.id);
      if (entry) {
        entry.current = record;
        entry.versions.set(record.versionId, record);
      } else {
        byId.set(record.id, { current: record, versions: new Map([[record.versionId, record]]) });
        this.#resourceCount++;
      }
    }
  }

  /**
   * Replaces existing versions in place (StorePort.rewrite): the version, and the current record
   * when it is that version. Versions that do not exist are skipped.
   */
  replace(records: readonly StoredRecord[]): void {
    for (const record of records) {
      const entry = this.#types.get(record.resourceType)?.get(record.id);
      const existing = entry?.versions.get(record.versionId);
      if (!entry || !existing) continue;
      const replacement = { ...record, lastUpdated: existing.lastUpdated, deleted: existing.deleted };
      entry.versions.set(record.versionId, replacement);
      if (entry.current.versionId === record.versionId) entry.current = replacement;
    }
  }

  /** The current record of a resource, or undefined. */
  current(resourceType: string, id: string): StoredRecord | undefined {
    return this.#types.get(resourceType)?.get(id)?.current;
  }

  /** One version of a resource, or undefined. */
  version(resourceType: string, id: string, versionId: number): StoredRecord | undefined {
    return this.#types.get(resourceType)?.get(id)?.versions.get(versionId);
  }

  /** All versions of one resource, oldest first. */
  *versionsOf(resourceType: string, id: string): Iterable<StoredRecord> {
    const entry = this.#types.get(resourceType)?.get(id);
    if (entry) yield* entry.versions.values();
  }

  /** Every record of a collection, optionally restricted to one resource type. */
  *scan(collection: CollectionName, resourceType?: string): Iterable<StoredRecord> {
    for (const entry of this.entries(resourceType)) {
      if (collection === 'current') yield entry.current;
      else yield* entry.versions.values();
    }
  }

  /** Every resource entry, optionally of one type (used by scans and snapshots). */
  *entries(resourceType?: string): Iterable<ResourceEntry> {
    if (resourceType !== undefined) {
      const byId = this.#types.get(resourceType);
      if (byId) yield* byId.values();
      return;
    }
    for (const byId of this.#types.values()) yield* byId.values();
  }

  /** Versions of a type applied since the store opened (StorePort.revision). */
  revision(resourceType: string): number {
    return this.#revisions.get(resourceType) ?? 0;
  }

  /** Number of distinct resources (current records). */
  get resourceCount(): number {
    return this.#resourceCount;
  }
}
