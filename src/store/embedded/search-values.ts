/**
 * The rows a version contributes to `search_values` (schema.ts): every string or number reached
 * by a dotted path below `index`, the way MongoDB's dotted paths reach them (through arrays of
 * objects and into arrays of scalars; see IRREGULAR for arrays nested in arrays), plus presence rows
 * for the top-level keys of `index` (see PRESENCE).
 */

/** A value as stored: numbers as they are, strings as UTF-16BE bytes (see `encodeString`). */
export type SqlValue = number | Buffer;

export interface SearchValueRow {
  path: string;
  value: SqlValue;
}

/**
 * Prefix of presence paths: `?index.family` has value 1 when `index.family` holds a non-null
 * value, 0 when it holds null. A top-level key whose value rows already tell that it holds a
 * non-null value (a string or number, or an array or object with such leaves and no null) gets
 * none: its value rows answer presence (sql-filter.ts), and most keys of a search index are such
 * arrays of entries, so an AuditEvent writes ~11 fewer rows (issue 14). Databases written with a
 * row for every key read the same.
 */
export const PRESENCE = '?';

/**
 * A string as UTF-16BE bytes: SQLite compares blobs with memcmp, which on this encoding is the
 * UTF-16 code-unit order of JavaScript's `<` and mingo's comparisons (UTF-8 bytes would order
 * U+E000..U+FFFF after supplementary characters).
 */
export function encodeString(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

/** The SQL value of a query operand, or undefined when it is neither a string nor a finite number. */
export function sqlValue(value: unknown): SqlValue | undefined {
  if (typeof value === 'string') return encodeString(value);
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return undefined;
}

/**
 * The path of a marker row written for a version whose `index` has an array directly inside an
 * array. MongoDB and mingo disagree on such values (and mingo with itself, by depth), so once any
 * version has one, no translation counts as exact and every match is re-checked. The search index
 * never writes them (src/search/index/fields.ts); the marker keeps the store correct if one comes.
 */
export const IRREGULAR = '!irregular';

/** The search-value rows of a record's `index` (duplicates included; the table ignores them). */
export function searchValueRows(index: Record<string, unknown> | undefined): SearchValueRow[] {
  const rows: SearchValueRow[] = [];
  if (!index) return rows;
  for (const [key, value] of Object.entries(index)) {
    if (value === undefined) continue;
    const path = `index.${key}`;
    const before = rows.length;
    collect(value, path, rows, false);
    const nonNull = isNonNull(value);
    // Rows of this key's own paths (not the IRREGULAR marker) show a non-null value; else the marker row must.
    if (!nonNull || !rows.slice(before).some((row) => row.path !== IRREGULAR)) rows.push({ path: PRESENCE + path, value: nonNull ? 1 : 0 });
  }
  return rows;
}

function isNonNull(value: unknown): boolean {
  return value !== null && !(Array.isArray(value) && value.some((v) => v === null));
}

function collect(value: unknown, path: string, rows: SearchValueRow[], inArray: boolean): void {
  if (Array.isArray(value)) {
    // Its values are indexed all the same (a superset of what any reading matches), and marked.
    if (inArray) rows.push({ path: IRREGULAR, value: 1 });
    for (const item of value) collect(item, path, rows, true);
    return;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) collect(child, `${path}.${key}`, rows, false);
    return;
  }
  const stored = sqlValue(value);
  if (stored !== undefined) rows.push({ path, value: stored });
}
