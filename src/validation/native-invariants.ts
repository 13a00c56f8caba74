import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { makeIssue } from './issues.js';
import { isObject, type JsonObject } from './json-items.js';

/**
 * Natively checked base invariants (see `NATIVE_INVARIANTS` for why they are not run through
 * fhirpath.js). Each function mirrors the official expression; the texts come from the
 * definitions so messages match the specification.
 */
export interface NativeTexts {
  ele1: string;
  ext1: string;
  dom3: string;
}

/**
 * ele-1 `hasValue() or (children().count() > id.count())`: an element needs a value or a child
 * other than `id`. `value` is the JSON value, `extras` a primitive's `_name` companion.
 */
export function checkEle1(value: unknown, extras: JsonObject | undefined, location: string, text: string): OperationOutcomeIssue | undefined {
  // `{}` is already a structure error (no empty objects in FHIR JSON, schema-prep.ts).
  if (isEmptyObject(value) || (value === undefined && isEmptyObject(extras))) return undefined;
  const ok = isObject(value) ? hasChildren(value) : value !== undefined || hasChildren(extras);
  return ok ? undefined : makeIssue('error', 'invariant', `ele-1: ${text}`, location);
}

/** Whether an element has a child other than `id` (run for every element a write holds: no closures, no key arrays, issue 14). */
function hasChildren(o: JsonObject | undefined): boolean {
  if (o === undefined) return false;
  for (const k in o) if (k !== 'id' && Object.hasOwn(o, k)) return true;
  return false;
}

function isEmptyObject(value: unknown): boolean {
  return isObject(value) && Object.keys(value).length === 0;
}

/** ext-1 `extension.exists() != value.exists()`: an extension has either a value or nested extensions. */
export function checkExt1(extension: JsonObject, location: string, text: string): OperationOutcomeIssue | undefined {
  const nested = Array.isArray(extension.extension) && extension.extension.length > 0;
  const valued = Object.keys(extension).some((k) => k.startsWith('value') || k.startsWith('_value'));
  return nested !== valued ? undefined : makeIssue('error', 'invariant', `ext-1: ${text}`, location);
}

/**
 * dom-3: every contained resource is referenced from elsewhere in the resource (`#id` in a
 * reference, canonical or uri), or itself refers to its container (`#`).
 */
export function checkDom3(resource: JsonObject, location: string, text: string): OperationOutcomeIssue[] {
  const contained = Array.isArray(resource.contained) ? resource.contained : [];
  if (contained.length === 0) return [];
  const pointers = new Set<string>();
  collectLocalPointers(resource, pointers);
  const issues: OperationOutcomeIssue[] = [];
  contained.forEach((c, i) => {
    if (!isObject(c) || typeof c.id !== 'string') return;
    if (pointers.has(`#${c.id}`)) return;
    const inner = new Set<string>();
    collectLocalPointers(c, inner);
    if (inner.has('#')) return;
    issues.push(makeIssue('error', 'invariant', `dom-3: ${text} (contained resource '${c.id}' is not referenced)`, `${location}.contained[${i}]`));
  });
  return issues;
}

function collectLocalPointers(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    if (value.startsWith('#')) into.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collectLocalPointers(v, into);
  } else if (isObject(value)) {
    for (const v of Object.values(value)) collectLocalPointers(v, into);
  }
}
