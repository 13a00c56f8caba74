import type { StoredRecord } from '../port.js';

/**
 * How a version is stored in `versions` (schema.ts): the record's JSON without its `index` in
 * `record`, and the index (the search values extracted at write time) apart in `idx`.
 *
 * The index is about 60% of a record's JSON (a Patient: 1.9 of 3.2 KB), and most reads never
 * look at it: a search page, a read by id and a history page only decode `resource`, since the
 * store has already selected the records through `search_values`. Parsing it anyway cost three
 * quarters of the JSON.parse of every record a search page loads (issue 13: 33 µs of 40 µs per
 * Patient), so it is parsed when first read instead (`_include` reading references, a sort or
 * re-check in memory, key rotation). Rows written before schema 3 (`idx` NULL) keep their
 * index inside `record`.
 */
export interface RecordColumns {
  record: string;
  idx: string | null;
}

/** The `record` and `idx` columns of a version. `record` ends with the resource (see `resourceJson`). */
export function recordColumns(stored: StoredRecord): RecordColumns {
  const { resourceType, id, versionId, lastUpdated, deleted, resource, index } = stored;
  return {
    record: JSON.stringify({ resourceType, id, versionId, lastUpdated, deleted, ...(resource ? { resource } : {}) }),
    idx: index ? JSON.stringify(index) : null,
  };
}

/** A record as read from its columns: a fresh object the caller owns, its `index` parsed on first use. */
export function parseRecord(record: string, idx: string | null | undefined): StoredRecord {
  const parsed = JSON.parse(record) as StoredRecord;
  if (idx !== null && idx !== undefined) deferIndex(parsed, idx);
  return parsed;
}

/**
 * Makes `index` an enumerable property that parses `text` when first read and then becomes a
 * plain data property; assigning it first replaces it the same way. Spreading, JSON.stringify,
 * `in` and Object.keys see it as any other property, so callers (and mingo) cannot tell.
 */
function deferIndex(record: StoredRecord, text: string): void {
  const settle = (target: StoredRecord, value: unknown): void => {
    Object.defineProperty(target, 'index', { value, writable: true, enumerable: true, configurable: true });
  };
  Object.defineProperty(record, 'index', {
    enumerable: true,
    configurable: true,
    get(this: StoredRecord) {
      const value = JSON.parse(text) as unknown;
      settle(this, value);
      return value;
    },
    set(this: StoredRecord, value: unknown) {
      settle(this, value);
    },
  });
}

const RESOURCE_KEY = ',"resource":';

/**
 * The JSON text of the resource in a `record` column that `recordColumns` wrote (its `idx` not
 * NULL), which puts the resource last: no key before it can hold `,"resource":` (a type, an id,
 * numbers, a date, a boolean). Undefined for a tombstone. Rows with the index inside `record`
 * (idx NULL) may have it after the resource: not for them.
 */
export function resourceJson(record: string): string | undefined {
  const at = record.indexOf(RESOURCE_KEY);
  return at < 0 || record.charCodeAt(record.length - 1) !== 0x7d ? undefined : record.slice(at + RESOURCE_KEY.length, -1);
}
