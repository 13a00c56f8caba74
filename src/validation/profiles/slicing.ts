import type { ElementDefinitionSlicingDiscriminator } from '@medplum/fhirtypes';
import { isObject, type ElementItem } from '../json-items.js';
import type { Terminology } from '../terminology.js';
import { equalsFixed, matchesPattern } from './pattern.js';
import type { ProfileNode } from './profile-model.js';

/** Decides whether an occurrence of a sliced element belongs to a given slice. */
export type SliceMatcher = (item: ElementItem) => boolean;

// Extensions are always sliced by url, whether or not a profile says so
// (https://hl7.org/fhir/R4/profiling.html#slicing, "extension" discriminator).
const EXTENSION_DISCRIMINATOR: ElementDefinitionSlicingDiscriminator[] = [{ type: 'value', path: 'url' }];

/**
 * Builds the matcher of one slice from the slicer's discriminators. Supported: `value` and
 * `pattern` (against the slice's fixed/pattern value at the path, an extension slice's
 * profile URL, or failing those a required binding), `exists` and `type`. `profile`
 * discriminators and paths with functions (`resolve()`, `ofType()`) are not: the slice is
 * then undefined and skipped rather than guessed.
 */
export function sliceMatcher(slicer: ProfileNode, slice: ProfileNode, terminology: Terminology): SliceMatcher | undefined {
  const discriminators = slicer.discriminators ?? (slicer.name === 'extension' || slicer.name === 'modifierExtension' ? EXTENSION_DISCRIMINATOR : []);
  if (!discriminators.length) return undefined;
  const tests = discriminators.map((d) => discriminatorTest(d, slice, terminology));
  if (tests.some((t) => t === undefined)) return undefined;
  return (item) => tests.every((t) => (t as SliceMatcher)(item));
}

function discriminatorTest(d: ElementDefinitionSlicingDiscriminator, slice: ProfileNode, terminology: Terminology): SliceMatcher | undefined {
  const path = d.path === '$this' ? [] : d.path.split('.');
  if (path.some((p) => p.includes('('))) return undefined;
  const target = descend(slice, path);
  const read = (item: ElementItem): unknown[] => navigate(item.value, path);
  switch (d.type) {
    case 'value':
    case 'pattern': {
      if (target?.fixed !== undefined) return (item) => read(item).some((v) => equalsFixed(v, target.fixed));
      if (target?.pattern !== undefined) return (item) => read(item).some((v) => matchesPattern(v, target.pattern));
      if (d.path === 'url' && slice.typeProfiles.length === 1) return (item) => read(item).includes(slice.typeProfiles[0]);
      const vs = target?.requiredValueSet;
      if (vs && terminology.canExpand(vs)) return (item) => read(item).some((v) => memberOf(terminology, vs, v));
      return undefined;
    }
    case 'exists':
      if ((target?.min ?? 0) >= 1) return (item) => read(item).length > 0;
      if (target?.max === 0) return (item) => read(item).length === 0;
      return undefined;
    case 'type':
      return slice.allowedTypes ? (item) => (slice.allowedTypes as ReadonlySet<string>).has(item.type) : undefined;
    default:
      return undefined;
  }
}

function descend(node: ProfileNode, path: string[]): ProfileNode | undefined {
  let current: ProfileNode | undefined = node;
  for (const segment of path) current = current?.children.find((c) => c.name === segment.replace('[x]', ''));
  return current;
}

function navigate(value: unknown, path: string[]): unknown[] {
  let values = value === undefined ? [] : [value];
  for (const segment of path) {
    values = values.flatMap((v) => {
      const next = isObject(v) ? v[segment] : undefined;
      return Array.isArray(next) ? next : next === undefined ? [] : [next];
    });
  }
  return values;
}

function memberOf(terminology: Terminology, valueSet: string, value: unknown): boolean {
  if (typeof value === 'string') return terminology.validateCode(valueSet, undefined, value);
  if (!isObject(value)) return false;
  const codings = Array.isArray(value.coding) ? value.coding : [value];
  return codings.some(
    (c) => isObject(c) && typeof c.code === 'string' && terminology.validateCode(valueSet, typeof c.system === 'string' ? c.system : undefined, c.code),
  );
}
