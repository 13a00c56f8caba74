import type { Coding, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { SummaryMode } from './parse.js';

/** The tag of a resource returned with elements left out (search.html#summary, search.html#elements). */
export const SUBSETTED: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'Resource encoded in summary mode' };

/** Which top-level elements of a type are in its summary, and which are mandatory. */
export interface ElementRules {
  summary: ReadonlySet<string>;
  mandatory: ReadonlySet<string>;
  /** Choice elements by their name without `[x]` (`deceased`), whose JSON keys carry a type suffix. */
  choices: ReadonlySet<string>;
}

/** The element rules of a type, read from its StructureDefinition snapshot (`isSummary`, `min`). */
export function elementRules(sd: StructureDefinition): ElementRules {
  const summary = new Set<string>();
  const mandatory = new Set<string>();
  const choices = new Set<string>();
  for (const element of sd.snapshot?.element ?? []) {
    const parts = element.path.split('.');
    if (parts.length !== 2) continue;
    let name = parts[1];
    if (name.endsWith('[x]')) {
      name = name.slice(0, -3);
      choices.add(name);
    }
    if (element.isSummary) summary.add(name);
    if ((element.min ?? 0) > 0) mandatory.add(name);
  }
  return { summary, mandatory, choices };
}

/** The element a JSON key belongs to: `_birthDate` → birthDate, `deceasedBoolean` → deceased. */
function elementOf(key: string, rules: ElementRules): string {
  const name = key.startsWith('_') ? key.slice(1) : key;
  for (const choice of rules.choices) {
    if (name.length > choice.length && name.startsWith(choice) && /[A-Z]/.test(name[choice.length])) return choice;
  }
  return name;
}

const ALWAYS = new Set(['resourceType', 'id', 'meta']);

/**
 * The elements kept for `_summary` / `_elements`, or undefined when the resource is returned whole.
 * `_elements` takes precedence over `_summary`; mandatory elements are always kept, as the spec asks.
 */
function keptElements(type: string, rules: ElementRules, summary: SummaryMode | undefined, elements: readonly string[] | undefined): ((element: string) => boolean) | undefined {
  if (elements) {
    const named = new Set(elements.map((e) => (e.startsWith(`${type}.`) ? e.slice(type.length + 1) : e)).filter((e) => !e.includes('.')));
    return (e) => ALWAYS.has(e) || rules.mandatory.has(e) || named.has(e);
  }
  switch (summary) {
    case 'true':
      return (e) => ALWAYS.has(e) || rules.mandatory.has(e) || rules.summary.has(e);
    case 'text':
      return (e) => ALWAYS.has(e) || rules.mandatory.has(e) || e === 'text';
    case 'data':
      return (e) => e !== 'text';
    default:
      return undefined;
  }
}

/**
 * Applies `_summary` (true, text, data) or `_elements` to a resource, tagging the result SUBSETTED.
 * Only top-level elements are selected; a kept element is returned whole.
 */
export function subsetResource(resource: Resource, rules: ElementRules, summary: SummaryMode | undefined, elements: readonly string[] | undefined): Resource {
  const keep = keptElements(resource.resourceType, rules, summary, elements);
  if (!keep) return resource;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType' || keep(elementOf(key, rules))) out[key] = value;
  }
  const meta = (out.meta ?? {}) as NonNullable<Resource['meta']>;
  const tags = (meta.tag ?? []).filter((t) => !(t.system === SUBSETTED.system && t.code === SUBSETTED.code));
  out.meta = { ...meta, tag: [...tags, SUBSETTED] };
  return out as unknown as Resource;
}
