import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { resolveBaseElement } from './base-element.js';

type Definitions = ReadonlyMap<string, StructureDefinition>;

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * The element list a profile constrains: its snapshot when it has one; otherwise its
 * differential applied to what it derives from (a core type, or another local profile).
 *
 * This is not a full snapshot generator: elements the differential does not mention are left
 * out (they are unchanged from the base, which base validation already checks), except the
 * ancestors needed to reach the mentioned ones, which are taken from the base as they are.
 */
export function effectiveElements(sd: StructureDefinition, profile: (url: string) => StructureDefinition | undefined, definitions: Definitions, seen = new Set<string>()): ElementDefinition[] {
  if (sd.snapshot?.element?.length) return sd.snapshot.element;
  const baseUrl = sd.baseDefinition ?? `${CORE_PREFIX}${sd.type}`;
  let inherited: ElementDefinition[] = [];
  if (!(baseUrl.startsWith(CORE_PREFIX) && definitions.has(baseUrl.slice(CORE_PREFIX.length)))) {
    const parent = profile(baseUrl);
    if (!parent || seen.has(baseUrl)) throw new Error(`Profile ${sd.url} derives from ${baseUrl}, which is not available`);
    inherited = effectiveElements(parent, profile, definitions, new Set([...seen, sd.url ?? '']));
  }
  const out = new Map<string, ElementDefinition>(inherited.map((e) => [e.id ?? e.path, e]));
  const ensure = (id: string, path: string): ElementDefinition | undefined => {
    const existing = out.get(id);
    if (existing) return existing;
    const base = resolveBaseElement(path, definitions);
    if (!base) return undefined;
    const sliceName = lastSliceName(id);
    const element: ElementDefinition = { ...base, id, path, ...(sliceName ? { sliceName } : {}) };
    out.set(id, element);
    return element;
  };
  for (const diff of sd.differential?.element ?? []) {
    const id = diff.id ?? diff.path;
    ancestors(id).forEach(([ancestorId, ancestorPath]) => ensure(ancestorId, ancestorPath));
    const base = ensure(id, diff.path) ?? { id, path: diff.path };
    out.set(id, merge(base, diff, id));
  }
  return [...out.values()];
}

function merge(base: ElementDefinition, diff: ElementDefinition, id: string): ElementDefinition {
  // Differential constraints add to the inherited ones; every other property replaces.
  const constraint = [...(base.constraint ?? []), ...(diff.constraint ?? []).filter((c) => !(base.constraint ?? []).some((b) => b.key === c.key))];
  return { ...base, ...diff, id, constraint };
}

/** The slice name of the last id segment (`Consent.category:doc` → `doc`). */
function lastSliceName(id: string): string | undefined {
  const last = id.slice(id.lastIndexOf('.') + 1);
  return last.includes(':') ? last.slice(last.indexOf(':') + 1) : undefined;
}

/**
 * Ids (with their paths) that must exist before `id`: every parent, and for a slice its
 * unsliced element. `Consent.category:doc.coding` needs `Consent`, `Consent.category` and
 * `Consent.category:doc`.
 */
function ancestors(id: string): Array<[string, string]> {
  const segments = id.split('.');
  const out: Array<[string, string]> = [];
  for (let i = 1; i <= segments.length; i++) {
    const idPrefix = segments.slice(0, i);
    const pathPrefix = idPrefix.map((s) => s.split(':')[0]).join('.');
    const last = idPrefix[i - 1];
    if (last.includes(':')) out.push([[...idPrefix.slice(0, -1), last.split(':')[0]].join('.'), pathPrefix]);
    if (i < segments.length) out.push([idPrefix.join('.'), pathPrefix]);
  }
  return out;
}
