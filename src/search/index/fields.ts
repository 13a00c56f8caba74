/**
 * Where the search values live in a `StoredRecord`, and what each entry holds.
 *
 * `record.index` maps a parameter's field name (its code, made Mongo-safe) to a non-empty array
 * of entries, one per value the parameter finds in the resource. A parameter without values is
 * absent, which is what `:missing` tests. Entries are small objects so that several conditions
 * on one value combine with `$elemMatch`:
 *
 * | type      | entry                                                                                    |
 * |-----------|------------------------------------------------------------------------------------------|
 * | string    | `{ f: folded (lower-case, accents removed), e: exact }`                                  |
 * | token     | `{ s?: system, c?: code, t?: folded display/text, ty?: [{ s?, c? }] (Identifier.type) }` |
 * | reference | `{ r?: 'Type/id' or absolute URL, is?: identifier.system, iv?: identifier.value }`       |
 * | date      | `{ lo: ISO instant, hi: ISO instant }` (inclusive bounds of the value's precision)       |
 * | number    | `{ v: value, lo, hi }` (`lo`/`hi`: the implicit range of the value's precision)          |
 * | quantity  | `{ v, lo, hi, s?: system, c?: code, u?: unit }`                                          |
 * | uri       | `{ u: value }`                                                                           |
 * | composite | `{ <component code>: [entries of the component's type] }`, one per element              |
 *
 * Each parameter with values (composites excepted) also gets two scalars for sorting and keyset paging,
 * `<field>__sort_asc` (the smallest sort value) and `<field>__sort_desc` (the largest). Sort values:
 * strings folded (HumanName as "family given", Address as its text or parts), tokens by code (by
 * text when no value has a code), references by `r`, numbers and quantities by value, uris as
 * written, dates by `lo` ascending and by `hi` descending (https://hl7.org/fhir/R4/search.html#sort).
 * `_id` and `_lastUpdated` are answered from the record's own `id` and `lastUpdated`.
 */

/** The field of `record.index` holding a parameter's entries: no `$` or `.` in keys (MongoDB field-name rules). */
export function indexKey(code: string): string {
  return code.replace(/[.$]/g, '_');
}

/** Dotted path of a parameter's entries in a record, for query documents. */
export function entriesPath(code: string): string {
  return `index.${indexKey(code)}`;
}

/** The key (in `record.index`) of a parameter's sort scalar for one direction. */
export function sortKey(code: string, direction: 1 | -1): string {
  return `${indexKey(code)}__sort_${direction === 1 ? 'asc' : 'desc'}`;
}

/** Lower bound sentinel of an open date range: below every FHIR instant (years start at 0001). */
export const DATE_MIN = '0000-01-01T00:00:00.000Z';
/** Upper bound sentinel of an open date range: the last representable FHIR instant. */
export const DATE_MAX = '9999-12-31T23:59:59.999Z';

/**
 * Bounds of open numeric ranges (e.g. a Quantity with comparator `<`). Finite, because the
 * stored records are JSON, where ±Infinity does not survive.
 */
export const NUMBER_MIN = -Number.MAX_VALUE;
export const NUMBER_MAX = Number.MAX_VALUE;
