import { checkRequiredBinding } from '../bindings.js';
import { checkCardinality } from '../cardinality.js';
import { failed, invariantIssue, runListInvariant, type Invariant } from '../invariants.js';
import { makeIssue, quote } from '../issues.js';
import { isObject, itemsOf, type ElementItem, type JsonObject } from '../json-items.js';
import type { Terminology } from '../terminology.js';
import type { WalkEnv } from '../base-walker.js';
import { equalsFixed, matchesPattern } from './pattern.js';
import type { ProfileModel, ProfileNode } from './profile-model.js';
import type { ProfileRegistry } from './profile-registry.js';
import { referencedType } from './reference-target.js';
import { sliceMatcher, type SliceMatcher } from './slicing.js';

/**
 * Checks an instance against what a profile adds to the core definition: cardinality,
 * allowed types and reference targets, fixed/pattern values, required bindings, new
 * invariants, slices (with their own cardinality and rules) and the profiles of extensions
 * and datatypes it names. Only the parts of the profile tree that check something are walked.
 * Profile violations never use the `structure` code: the resource is well-formed FHIR that
 * breaks a content rule (https://hl7.org/fhir/R4/http.html#update: 422, not 400).
 */
export class ProfileWalker {
  private readonly matchers = new WeakMap<ProfileNode, SliceMatcher | null>();

  constructor(
    private readonly profiles: ProfileRegistry,
    private readonly terminology: Terminology,
  ) {}

  /** Validates `value` (a resource, or an extension for extension definitions) against a profile. */
  walk(model: ProfileModel, value: JsonObject, location: string, env: WalkEnv): void {
    this.runInvariants(model.root.invariants, value, location, env, model.url);
    this.visitChildren(model.root, value, location, env, model.url);
  }

  private visitChildren(node: ProfileNode, value: JsonObject, location: string, env: WalkEnv, url: string): void {
    for (const child of node.children) {
      if (!child.active) continue;
      const items = itemsOf(value, child, location);
      this.checkOccurrences(child, items, value, location, env, url);
      if (child.slices.length || child.closed) this.checkSlices(child, items, location, env, url);
    }
  }

  private checkOccurrences(node: ProfileNode, items: readonly ElementItem[], parent: JsonObject, location: string, env: WalkEnv, url: string): void {
    const rule = { label: node.id, min: node.min ?? 0, max: node.max ?? Infinity, name: node.name };
    env.issues.push(...checkCardinality(rule, items, location, { profile: url }));
    for (const inv of node.listInvariants) env.issues.push(...runListInvariant(inv, parent, items, `${location}.${node.name}`, env, url));
    for (const item of items) this.checkItem(node, item, env, url);
  }

  private checkItem(node: ProfileNode, item: ElementItem, env: WalkEnv, url: string): void {
    const { value, location, type } = item;
    if (node.allowedTypes && !node.allowedTypes.has(type)) {
      const allowed = [...node.allowedTypes].join(', ');
      env.issues.push(makeIssue('error', 'value', `Type ${type} is not allowed here by profile ${url} (allowed: ${allowed})`, location));
      return;
    }
    if (node.fixed !== undefined && !equalsFixed(value, node.fixed)) {
      env.issues.push(makeIssue('error', 'value', `The value must be exactly ${quote(node.fixed)} (fixed by profile ${url}), found ${quote(value ?? null)}`, location));
    }
    if (node.pattern !== undefined && !matchesPattern(value, node.pattern)) {
      env.issues.push(makeIssue('error', 'value', `The value must match the pattern ${quote(node.pattern)} of profile ${url}`, location));
    }
    if (node.requiredValueSet && value !== undefined) {
      const issue = checkRequiredBinding(this.terminology, node.requiredValueSet, type, value, location, url);
      if (issue) env.issues.push(issue);
    }
    if (!isObject(value)) return;
    if (node.targetTypes && type === 'Reference') this.checkTarget(node.targetTypes, value, location, env, url);
    this.runInvariants(node.invariants, value, location, env, url);
    for (const profile of node.typeProfiles) {
      const model = this.profiles.get(profile);
      // Unknown type profiles (e.g. core datatype profiles not in profiles/) are not checked.
      if (model) this.walk(model, value, location, env);
    }
    this.visitChildren(node, value, location, env, url);
  }

  private checkSlices(node: ProfileNode, items: readonly ElementItem[], location: string, env: WalkEnv, url: string): void {
    const claimed = new Set<ElementItem>();
    for (const slice of node.slices) {
      const matcher = this.matcherFor(node, slice);
      if (!matcher) continue;
      const matched = items.filter((item) => !claimed.has(item) && matcher(item));
      matched.forEach((item) => claimed.add(item));
      const rule = { label: slice.id, min: slice.min ?? 0, max: slice.max ?? Infinity, name: node.name };
      env.issues.push(...checkCardinality(rule, matched, location, { profile: url }).map((i) => ({ ...i, diagnostics: `${i.diagnostics} (slice '${slice.sliceName}')` })));
      for (const item of matched) this.checkItem(slice, item, env, url);
    }
    if (!node.closed) return;
    for (const item of items) {
      if (!claimed.has(item)) env.issues.push(makeIssue('error', 'invariant', `This ${node.name} matches none of the slices of ${node.id}, and profile ${url} allows no others`, item.location));
    }
  }

  private checkTarget(allowed: ReadonlySet<string>, reference: JsonObject, location: string, env: WalkEnv, url: string): void {
    const target = referencedType(reference, env.resource as JsonObject);
    if (target === undefined || allowed.has(target)) return;
    env.issues.push(makeIssue('error', 'value', `A reference to ${target} is not allowed here by profile ${url} (allowed: ${[...allowed].join(', ')})`, location));
  }

  private runInvariants(invariants: readonly Invariant[], value: JsonObject, location: string, env: WalkEnv, url: string): void {
    for (const inv of invariants) if (failed(inv.run(value, env))) env.issues.push(invariantIssue(inv, location, url));
  }

  private matcherFor(slicer: ProfileNode, slice: ProfileNode): SliceMatcher | undefined {
    if (!this.matchers.has(slice)) this.matchers.set(slice, sliceMatcher(slicer, slice, this.terminology) ?? null);
    return this.matchers.get(slice) ?? undefined;
  }
}
