import type { ElementDefinition, ElementDefinitionSlicingDiscriminator, StructureDefinition } from '@medplum/fhirtypes';
import { cardinalityMax, isPrimitiveType, jsonKeys, typeCode, type JsonKey } from '../element-model.js';
import { compileInvariants, type Invariant } from '../invariants.js';
import { stripVersion } from '../valueset-expander.js';
import { resolveBaseElement } from './base-element.js';

/**
 * One element of a profile, reduced to what the profile adds over the core definition
 * (base validation already checks the rest). Undefined fields mean "nothing more than core".
 */
export interface ProfileNode {
  readonly id: string;
  readonly path: string;
  readonly name: string;
  readonly choice: boolean;
  readonly repeating: boolean;
  /** JSON keys under the core definition's types, so disallowed choice types are still found. */
  readonly keys: readonly JsonKey[];
  readonly sliceName?: string;
  readonly min?: number;
  readonly max?: number;
  /** Allowed type codes, when narrower than core. */
  readonly allowedTypes?: ReadonlySet<string>;
  /** Allowed Reference target resource types, when narrower than core and all resolvable. */
  readonly targetTypes?: ReadonlySet<string>;
  /** Profiles (extension definitions, datatype profiles) each occurrence must also conform to. */
  readonly typeProfiles: readonly string[];
  readonly fixed?: unknown;
  readonly pattern?: unknown;
  readonly requiredValueSet?: string;
  readonly invariants: readonly Invariant[];
  readonly listInvariants: readonly Invariant[];
  readonly discriminators?: readonly ElementDefinitionSlicingDiscriminator[];
  readonly closed: boolean;
  readonly children: ProfileNode[];
  readonly slices: ProfileNode[];
  /** Whether this element or anything below it has something to check. */
  active: boolean;
}

export interface ProfileModel {
  readonly url: string;
  readonly type: string;
  readonly kind: StructureDefinition['kind'];
  readonly root: ProfileNode;
}

/** Maps a targetProfile canonical to its resource type; undefined when unknown. */
export type TargetResolver = (canonical: string) => string | undefined;

/** Builds the checkable tree of a profile from its (effective) element list. */
export function buildProfileModel(sd: StructureDefinition, elements: ElementDefinition[], definitions: ReadonlyMap<string, StructureDefinition>, targets: TargetResolver): ProfileModel {
  const nodes = new Map<string, ProfileNode>();
  let root: ProfileNode | undefined;
  for (const el of elements) {
    const id = el.id ?? el.path;
    const node = buildNode(el, id, resolveBaseElement(el.path, definitions), targets, id === elements[0].id);
    nodes.set(id, node);
    if (!root) {
      root = node;
    } else if (el.sliceName && id.endsWith(`:${el.sliceName}`)) {
      nodes.get(id.slice(0, -(el.sliceName.length + 1)))?.slices.push(node);
    } else {
      nodes.get(id.slice(0, id.lastIndexOf('.')))?.children.push(node);
    }
  }
  if (!root) throw new Error(`Profile ${sd.url} has no elements`);
  markActive(root);
  return { url: sd.url as string, type: sd.type as string, kind: sd.kind, root };
}

function buildNode(el: ElementDefinition, id: string, base: ElementDefinition | undefined, targets: TargetResolver, isRoot: boolean): ProfileNode {
  const last = el.path.slice(el.path.lastIndexOf('.') + 1);
  const choice = last.endsWith('[x]');
  const name = choice ? last.slice(0, -3) : last;
  const baseTypes = (base?.type ?? el.type ?? []).map(typeCode);
  const types = (el.type ?? []).map(typeCode);
  const isSlice = el.sliceName !== undefined && !isRoot;
  const baseMax = cardinalityMax(base?.max);
  const max = cardinalityMax(el.max);
  const baseKeys = new Set((base?.constraint ?? []).map((c) => c.key));
  // Only constraints the profile adds; the core ones are checked by base validation.
  const added = (el.constraint ?? []).filter((c) => !baseKeys.has(c.key));
  const primitive = types.length > 0 && types.every(isPrimitiveType);
  const parentPath = el.path.slice(0, el.path.lastIndexOf('.'));
  const fixedKey = Object.keys(el).find((k) => k.startsWith('fixed'));
  const patternKey = Object.keys(el).find((k) => k.startsWith('pattern'));
  const baseBinding = base?.binding?.strength === 'required' ? stripVersion(base.binding.valueSet ?? '') : undefined;
  const binding = el.binding?.strength === 'required' && el.binding.valueSet ? stripVersion(el.binding.valueSet) : undefined;
  return {
    id,
    path: el.path,
    name,
    choice,
    repeating: (base?.max ?? el.base?.max ?? el.max) !== '1' && !isRoot,
    keys: jsonKeys(name, choice, baseTypes),
    ...(el.sliceName && isSlice ? { sliceName: el.sliceName } : {}),
    ...(isSlice || (el.min ?? 0) > (base?.min ?? 0) ? { min: el.min ?? 0 } : {}),
    ...(isSlice || max < baseMax ? { max } : {}),
    ...(types.length && new Set(types).size < new Set(baseTypes).size ? { allowedTypes: new Set(types) } : {}),
    ...targetTypesOf(el, base, targets),
    typeProfiles: (el.type ?? []).flatMap((t) => (t.profile ?? []).filter((p) => !(base?.type ?? []).some((b) => b.profile?.includes(p)))),
    ...(fixedKey ? { fixed: (el as unknown as Record<string, unknown>)[fixedKey] } : {}),
    ...(patternKey ? { pattern: (el as unknown as Record<string, unknown>)[patternKey] } : {}),
    ...(binding && binding !== baseBinding ? { requiredValueSet: binding } : {}),
    invariants: primitive ? [] : compileInvariants(added, el.path),
    listInvariants: primitive && !isRoot ? compileInvariants(added, parentPath, name) : [],
    ...(el.slicing?.discriminator ? { discriminators: el.slicing.discriminator } : {}),
    closed: el.slicing?.rules === 'closed',
    children: [],
    slices: [],
    active: false,
  };
}

function targetTypesOf(el: ElementDefinition, base: ElementDefinition | undefined, targets: TargetResolver): { targetTypes?: Set<string> } {
  const profiled = (el.type ?? []).filter((t) => t.code === 'Reference').flatMap((t) => t.targetProfile ?? []);
  const original = (base?.type ?? []).filter((t) => t.code === 'Reference').flatMap((t) => t.targetProfile ?? []);
  if (!profiled.length || (profiled.length === original.length && profiled.every((p) => original.includes(p)))) return {};
  const resolved = profiled.map(targets);
  // One unknown target (e.g. a US Core profile not shipped here) could be any type: no check.
  if (resolved.some((t) => t === undefined || t === 'Resource')) return {};
  return { targetTypes: new Set(resolved as string[]) };
}

function markActive(node: ProfileNode): boolean {
  const own =
    node.min !== undefined || node.max !== undefined || node.allowedTypes !== undefined || node.targetTypes !== undefined ||
    node.typeProfiles.length > 0 || node.fixed !== undefined || node.pattern !== undefined || node.requiredValueSet !== undefined ||
    node.invariants.length > 0 || node.listInvariants.length > 0 || node.slices.length > 0 || node.closed;
  const below = node.children.map(markActive).concat(node.slices.map(markActive)).some(Boolean);
  node.active = own || below;
  return node.active;
}
