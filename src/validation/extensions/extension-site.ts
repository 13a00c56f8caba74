import type { StructureDefinitionContext } from '@medplum/fhirtypes';
import type { ExtensionDefinition } from './extension-definitions.js';

/**
 * Where in a resource an element instance sits, as far as extension contexts
 * (https://hl7.org/fhir/R4/defining-extensions.html#context) need to know. Built while walking,
 * one link per complex or primitive instance; the paths are only computed when an extension
 * is actually met.
 */
export interface Site {
  readonly parent?: Site;
  /** The element name in its parent (without `[x]`); the type name for a resource. */
  readonly segment: string;
  /** The FHIR type of the instance (`Patient`, `HumanName`, `string`, `BackboneElement`). */
  readonly type: string;
  /**
   * A resource starts the path from the root; every other instance is also named by its type
   * (`HumanName`, `string`, `BackboneElement`), and a datatype instance starts a path of its own
   * (`HumanName.family`).
   */
  readonly kind: 'resource' | 'datatype' | 'backbone';
  /** Set when the instance is an extension: its url, and its definition when known. */
  readonly extension?: { readonly url: string; readonly definition?: ExtensionDefinition };
}

/** The site of a resource (top-level or contained). */
export function resourceSite(type: string): Site {
  return { segment: type, type, kind: 'resource' };
}

/** The site of a child instance of `parent` named `segment`, of type `type`. */
export function childSite(parent: Site, segment: string, type: string, backbone: boolean, extension?: Site['extension']): Site {
  return { parent, segment, type, kind: backbone ? 'backbone' : 'datatype', ...(extension ? { extension } : {}) };
}

/**
 * Every element path that names this instance: from the resource root
 * (`Patient.contact.name.family`) and from each enclosing datatype instance (`HumanName.family`,
 * `string`), as the context expressions of extension definitions are written.
 */
export function sitePaths(site: Site): string[] {
  if (site.kind === 'resource' || !site.parent) return [site.type];
  const paths = sitePaths(site.parent).map((p) => `${p}.${site.segment}`);
  return [...paths, site.type];
}

/**
 * Whether an extension may be used on the instance at `site` (its container).
 * - `element` contexts name an element path or a type; a path rooted at a type also covers
 *   the types derived from it (`Resource` covers every resource, `Quantity` covers `Age`,
 *   `string` covers `code`), and `Element` covers everything;
 * - `extension` contexts name the url of the extension the instance must sit in;
 * - `fhirpath` contexts are not evaluated here, so they allow the use.
 */
export function contextAllows(contexts: readonly StructureDefinitionContext[], site: Site, baseTypes: (type: string) => readonly string[]): boolean {
  if (contexts.length === 0) return true;
  let paths: Set<string> | undefined;
  return contexts.some((context) => {
    const expression = (context.expression ?? '').replace(/\[x\]/g, '');
    if (context.type === 'fhirpath') return true;
    if (context.type === 'extension') return site.extension?.url === expression;
    if (expression === 'Element' || expression === 'Any') return true;
    paths ??= expandPaths(sitePaths(site), baseTypes);
    return paths.has(expression);
  });
}

function expandPaths(paths: readonly string[], baseTypes: (type: string) => readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const path of paths) {
    out.add(path);
    const dot = path.indexOf('.');
    const root = dot < 0 ? path : path.slice(0, dot);
    const rest = dot < 0 ? '' : path.slice(dot);
    for (const base of baseTypes(root)) out.add(`${base}${rest}`);
  }
  return out;
}
