import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { checkRequiredBinding } from './bindings.js';
import { checkCardinality } from './cardinality.js';
import { isPrimitiveType, type ElementNode } from './element-model.js';
import { makeIssue } from './issues.js';
import { failed, invariantIssue, runListInvariant, type Invariant, type InvariantEnv } from './invariants.js';
import { isObject, itemsOf, type ElementItem, type JsonObject } from './json-items.js';
import type { ModelRegistry } from './model-registry.js';
import type { ExtensionChecker } from './extensions/extension-checker.js';
import { childSite, resourceSite, type Site } from './extensions/extension-site.js';
import { checkDom3, checkEle1, checkExt1, type NativeTexts } from './native-invariants.js';
import { NarrativeChecker } from './narrative.js';
import { checkPrimitiveValue } from './primitive-values.js';
import { referencedType } from './profiles/reference-target.js';
import type { Terminology } from './terminology.js';

/** State of one walk: where issues go and the FHIRPath `%resource` / `%rootResource`. */
export interface WalkEnv extends InvariantEnv {
  readonly issues: OperationOutcomeIssue[];
}

/**
 * Walks a resource against the base R4 definitions in one pass, checking what the JSON schema
 * cannot: cardinality, required bindings, invariants and calendar-valid dates. Structurally
 * wrong JSON is skipped quietly here; the schema layer reports it.
 */
export class BaseWalker {
  private readonly texts: NativeTexts;
  private readonly narrative: NarrativeChecker;
  private readonly strict: boolean;
  private readonly compartmentPaths: ReadonlySet<string>;
  private readonly extensions?: ExtensionChecker;

  /**
   * @param options.strict whether a Reference to a type its element does not allow is an error
   *   (else a warning; see `checkTarget`)
   * @param options.extensions checks each extension against its definition
   */
  constructor(
    private readonly registry: ModelRegistry,
    private readonly terminology: Terminology,
    options: { strict?: boolean; extensions?: ExtensionChecker; compartmentPaths?: ReadonlySet<string> } = {},
  ) {
    this.strict = options.strict ?? false;
    this.compartmentPaths = options.compartmentPaths ?? new Set();
    this.extensions = options.extensions;
    this.texts = {
      ele1: registry.constraintText('Element', 'ele-1'),
      ext1: registry.constraintText('Extension', 'ext-1'),
      dom3: registry.constraintText('DomainResource', 'dom-3'),
    };
    this.narrative = new NarrativeChecker({
      txt1: registry.constraintText('Narrative', 'txt-1', 'Narrative.div'),
      txt2: registry.constraintText('Narrative', 'txt-2', 'Narrative.div'),
    });
  }

  /** Validates a resource (top-level or contained) located at `location`. */
  walkResource(resource: JsonObject, location: string, env: WalkEnv): void {
    const model = typeof resource.resourceType === 'string' ? this.registry.model(resource.resourceType) : undefined;
    if (!model || model.kind !== 'resource') return; // unknown types are reported by the schema layer
    // dom-6 (best practice: have a narrative) is guidance for resources exchanged on their own;
    // a contained resource is presented through its container's narrative (R4 drafts even
    // forbade contained narrative, dom-1), so the guideline is not applied to it.
    const contained = resource !== env.rootResource;
    this.runInvariants(contained ? model.root.invariants.filter((i) => !i.bestPractice) : model.root.invariants, resource, location, env);
    env.issues.push(...checkDom3(resource, location, this.texts.dom3));
    this.visitChildren(model.root.children, resource, location, env, resourceSite(model.type));
  }

  /** `site` is where `parent` sits, for the context of the extensions met below it. */
  private visitChildren(children: readonly ElementNode[], parent: JsonObject, location: string, env: WalkEnv, site: Site): void {
    for (const child of children) {
      const items = itemsOf(parent, child, location);
      const singleArray = !child.repeating && items.length > 1 && items.every((i) => i.key === items[0].key);
      env.issues.push(...checkCardinality({ label: child.path, min: child.min, max: child.max, name: child.name }, items, location, { skipMax: singleArray }));
      if (items.length === 0) continue;
      for (const inv of child.listInvariants) env.issues.push(...runListInvariant(inv, parent, items, `${location}.${child.name}`, env));
      for (const item of items) this.visitItem(child, item, env, site);
    }
  }

  private visitItem(node: ElementNode, item: ElementItem, env: WalkEnv, parentSite: Site): void {
    const { type, value, location } = item;
    if (isPrimitiveType(type)) {
      this.push(env, checkEle1(value, item.extras, location, this.texts.ele1));
      this.push(env, checkPrimitiveValue(type, value, location));
      if (type === 'xhtml') env.issues.push(...this.narrative.check(value, location));
      if (node.requiredValueSet && value !== undefined) this.push(env, checkRequiredBinding(this.terminology, node.requiredValueSet, type, value, location));
      if (item.extras) this.visitChildren(this.registry.model('Element')?.root.children ?? [], item.extras, location, env, childSite(parentSite, node.name, type, false));
      return;
    }
    if (!isObject(value)) return;
    if (this.registry.isResourceType(type)) {
      this.walkResource(value, location, { ...env, resource: value });
      return;
    }
    this.push(env, checkEle1(value, undefined, location, this.texts.ele1));
    if (type === 'Extension') this.push(env, checkExt1(value, location, this.texts.ext1));
    if (type === 'Reference' && node.targetTypes) this.push(env, this.checkTarget(node, value, location, env));
    if (node.requiredValueSet) this.push(env, checkRequiredBinding(this.terminology, node.requiredValueSet, type, value, location));
    const typeRoot = node.children.length ? undefined : this.registry.model(type)?.root;
    this.runInvariants(node.invariants, value, location, env);
    if (typeRoot?.invariants.length) {
      // A datatype's own rules (per-1 on Period...), unless the element restates them.
      const own = node.invariants.length ? typeRoot.invariants.filter((i) => !node.invariants.some((n) => n.key === i.key)) : typeRoot.invariants;
      this.runInvariants(own, value, location, env);
    }
    this.visitChildren(this.registry.childrenOf(node, type), value, location, env, this.siteOf(node, type, value, location, env, parentSite));
  }

  /** The site of a complex instance; an extension is checked against its definition on the way. */
  private siteOf(node: ElementNode, type: string, value: JsonObject, location: string, env: WalkEnv, parentSite: Site): Site {
    const backbone = node.children.length > 0;
    if (type !== 'Extension' || !this.extensions || (node.name !== 'extension' && node.name !== 'modifierExtension')) return childSite(parentSite, node.name, type, backbone);
    const definition = this.extensions.check(value, parentSite, node.name === 'modifierExtension', location, env);
    const url = typeof value.url === 'string' ? value.url : '';
    return childSite(parentSite, node.name, type, backbone, { url, ...(definition ? { definition } : {}) });
  }

  private runInvariants(invariants: readonly Invariant[], context: JsonObject, location: string, env: WalkEnv): void {
    for (const inv of invariants) {
      if (failed(inv.run(context, env))) env.issues.push(invariantIssue(inv, location));
    }
  }

  /**
   * A Reference must point to one of the types its element's `targetProfile`s allow
   * (https://hl7.org/fhir/R4/references.html). Only what can be told without resolving is
   * checked: a literal `Type/id`, a contained `#id` (looked up in the container) or `type`;
   * a type R4 does not have is left alone (a contained one is reported by the schema layer).
   *
   * An error where the Reference decides the Patient compartment (`compartment-references.ts`);
   * elsewhere a warning unless strict (FHIR_VALIDATION_STRICT): the official R4 example
   * MedicationRequest/medrx0301 itself points `dispenseRequest.performer` (Reference(Organization))
   * at a Practitioner, and what the specification publishes as an example must stay storable.
   */
  private checkTarget(node: ElementNode, reference: JsonObject, location: string, env: WalkEnv): OperationOutcomeIssue | undefined {
    const allowed = node.targetTypes as ReadonlySet<string>;
    const target = referencedType(reference, env.rootResource as JsonObject);
    if (target === undefined || allowed.has(target) || !this.registry.isResourceType(target)) return undefined;
    const error = this.strict || this.compartmentPaths.has(node.path);
    return makeIssue(error ? 'error' : 'warning', 'value', `${node.path} cannot refer to a ${target} (allowed: ${[...allowed].join(', ')})`, location);
  }

  private push(env: WalkEnv, issue: OperationOutcomeIssue | undefined): void {
    if (issue) env.issues.push(issue);
  }
}
