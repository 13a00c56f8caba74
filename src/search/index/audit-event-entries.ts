import { boundedMemo } from '../../bounded-memo.js';
import { dateRange } from './date-range.js';
import type { ReferenceRead } from './extract-reference.js';
import { sortRange, type Entry, type ExtractContext, type Extracted } from './extracted.js';
import { str } from './node.js';
import { fold } from './text.js';

/**
 * The pieces `audit-event-index.ts` reads an AuditEvent with: shape checks (anything else throws
 * OTHER, and the event goes the generic way), token and reference entries as `extract-token.ts`
 * and `extract-reference.ts` make them, deduplicated as `unique` does, and the `recorded` range.
 */

/** Thrown inside a pass when the event is not of the shape read here: the generic extraction takes it. */
class OtherShape extends Error {}
export const OTHER = new OtherShape();

export type Obj = Record<string, unknown>;

// Folded displays and texts: events repeat a few dozen (`Patient`, `Restful Operation`).
const folded = boundedMemo(fold, 1024);

/** An object, or nothing (undefined/null); anything else is another shape. */
export function object(value: unknown): Obj | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw OTHER;
  return value as Obj;
}

/** The items of a repeating element (null items skipped, as navigation skips them); a singleton is another shape. */
export function items(value: unknown): Obj[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw OTHER;
  const out: Obj[] = [];
  for (const item of value) {
    if (item === null || item === undefined) continue;
    if (typeof item !== 'object' || Array.isArray(item)) throw OTHER;
    out.push(item as Obj);
  }
  return out;
}

/** A primitive string element, or nothing; anything else is another shape. */
export function primitive(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw OTHER;
  return value;
}

/** Token entries, deduplicated as `unique` does (same members in the same order). */
export class Tokens {
  readonly entries: Entry[] = [];

  add(system: string | undefined, code: string | undefined, display: string | undefined): void {
    if (system === undefined && code === undefined && display === undefined) return;
    const text = display === undefined ? undefined : folded(display);
    const e: Entry = {};
    if (system !== undefined) e.s = system;
    if (code !== undefined) e.c = code;
    if (text !== undefined) e.t = text;
    // Distinct as `unique` tells them (same members, built in the same order); events have a few distinct codings.
    for (const other of this.entries) if (other.s === e.s && other.c === e.c && other.t === e.t) return;
    this.entries.push(e);
  }

  coding(coding: Obj): void {
    this.add(str(coding, 'system'), str(coding, 'code'), str(coding, 'display'));
  }

  concept(concept: Obj): void {
    for (const coding of items(concept.coding)) this.coding(coding);
    const text = str(concept, 'text');
    if (text !== undefined) this.add(undefined, undefined, text);
  }

  /** As `extractToken`: sorted by code, or by text when no entry has a code. */
  extracted(): Extracted | undefined {
    if (this.entries.length === 0) return undefined;
    const codes = this.entries.map((e) => e.c).filter((c): c is string => typeof c === 'string');
    const sort = sortRange(codes.length > 0 ? codes : this.entries.map((e) => e.t).filter((t): t is string => typeof t === 'string'));
    return { entries: this.entries, ...(sort ? { sort } : {}) };
  }
}

/** Reference entries as `extractReference` gives them: distinct (fresh objects), sorted by `r`; undefined when none. */
export function referenceEntries(references: readonly ReferenceRead[]): Extracted | undefined {
  const entries: Entry[] = [];
  // Distinct as `unique` tells them (same members, built in the same order), found by `r` (or `iv`) first.
  const byValue = new Map<unknown, Entry[]>();
  const sort: string[] = [];
  for (const { entry } of references) {
    if (!entry) continue;
    const value = entry.r ?? entry.iv;
    const same = byValue.get(value);
    if (same?.some((o) => o.r === entry.r && o.is === entry.is && o.iv === entry.iv)) continue;
    const copy: Entry = { ...entry };
    entries.push(copy);
    if (same) same.push(copy);
    else byValue.set(value, [copy]);
    if (entry.r !== undefined) sort.push(entry.r as string);
  }
  if (entries.length === 0) return undefined;
  const range = sortRange(sort);
  return { entries, ...(range ? { sort: range } : {}) };
}

/** A `code` element's token: the code with the system its required binding implies (extract-token.ts). */
export function codeToken(value: string | undefined, elementPath: string, context: ExtractContext): Extracted | undefined {
  if (value === undefined) return undefined;
  const tokens = new Tokens();
  tokens.add(context.impliedSystem(elementPath, value), value, undefined);
  return tokens.extracted();
}

/** A plain `string` element as a token (`altid`, `site`): its value as the code. */
export function stringTokens(values: readonly string[]): Extracted | undefined {
  const tokens = new Tokens();
  for (const v of values) tokens.add(undefined, v, undefined);
  return tokens.extracted();
}

/** The `recorded` instant: as written when it is already a UTC instant to the millisecond (what the server writes), else by `dateRange`. */
export function recordedRange(value: string | undefined): Extracted | undefined {
  if (value === undefined) return undefined;
  const range = UTC_MILLIS.test(value) && realDay(value.slice(0, 10)) ? { lo: value, hi: value } : dateRange(value);
  return range ? { entries: [{ lo: range.lo, hi: range.hi }], sort: { asc: range.lo, desc: range.hi } } : undefined;
}
// A UTC instant to the millisecond, hours, minutes and seconds in range: its range is itself (date-range.ts).
const UTC_MILLIS = /^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
// Days known to exist (`2026-02-30` does not), as `dateRange` tells them.
const realDay = boundedMemo((day) => dateRange(day) !== undefined, 1024);
