import type { ElementDefinition, ElementDefinitionType, StructureDefinition } from '@medplum/fhirtypes';
import { compileInvariants, type Invariant } from './invariants.js';
import { stripVersion } from './valueset-expander.js';

/** How an element appears in JSON: one key per allowed type for choice elements (`valueString`...). */
export interface JsonKey {
  readonly key: string;
  readonly type: string;
  /** `_key`, the primitive's companion (id and extensions); made once here, not per instance walked. */
  readonly companion: string;
}

/** One element of a type's snapshot, prepared for walking instances. */
export interface ElementNode {
  /** Definition path, e.g. `Patient.contact.name`. */
  readonly path: string;
  /** JSON name without `[x]`. */
  readonly name: string;
  readonly choice: boolean;
  /** True when the element is a JSON array (base max other than 1). */
  readonly repeating: boolean;
  readonly min: number;
  /** Infinity for `*`. */
  readonly max: number;
  readonly types: readonly string[];
  readonly keys: readonly JsonKey[];
  /**
   * Resource types a Reference may point to (from `targetProfile`), when the definition
   * narrows them; undefined when any resource will do.
   */
  readonly targetTypes?: ReadonlySet<string>;
  /** Canonical (version stripped) of a `required` binding, if any. */
  readonly requiredValueSet?: string;
  /** Invariants run on each complex instance of the element. */
  readonly invariants: readonly Invariant[];
  /** Invariants of primitive elements, run once on the parent (see `compileInvariant`). */
  readonly listInvariants: readonly Invariant[];
  /** Children defined inline (backbone elements, content references); empty for datatypes. */
  children: readonly ElementNode[];
}

export interface TypeModel {
  readonly type: string;
  readonly kind: StructureDefinition['kind'];
  readonly root: ElementNode;
}

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';
const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

/** Type code of an element type; FHIRPath system types (`id`, `Extension.url`) map to their FHIR primitive. */
export function typeCode(type: ElementDefinitionType): string {
  if (!type.code.startsWith('http://hl7.org/fhirpath/System.')) return type.code;
  const ext = type.extension?.find((e) => e.url === FHIR_TYPE_EXTENSION);
  return ext?.valueUrl ?? ext?.valueUri ?? 'string';
}

/** Primitive FHIR types are the lower-case ones (`string`, `dateTime`, `xhtml`...). */
export function isPrimitiveType(type: string): boolean {
  return type.charCodeAt(0) >= 97 && type.charCodeAt(0) <= 122;
}

/** `dateTime` → `DateTime`, as choice-type JSON keys spell their type (`valueDateTime`). */
export function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The JSON keys an element can appear under. */
export function jsonKeys(name: string, choice: boolean, types: readonly string[]): JsonKey[] {
  const keyOf = (key: string, type: string): JsonKey => ({ key, type, companion: `_${key}` });
  return choice ? types.map((t) => keyOf(`${name}${upperFirst(t)}`, t)) : [keyOf(name, types[0] ?? 'Element')];
}

/** `ElementDefinition.max` as a number (Infinity for `*`). */
export function cardinalityMax(max: string | undefined): number {
  return max === undefined || max === '*' ? Infinity : Number(max);
}

/**
 * Builds the element tree of one base StructureDefinition snapshot, compiling its invariants.
 * Datatype children are not copied in: walkers look them up in the datatype's own model.
 */
export function buildTypeModel(sd: StructureDefinition): TypeModel {
  const elements = sd.snapshot?.element ?? [];
  const byPath = new Map<string, ElementNode>();
  const references: Array<[ElementNode, string]> = [];
  let root: ElementNode | undefined;
  for (const el of elements) {
    if (el.sliceName) continue; // base definitions are not sliced; ignore defensively
    const parent = byPath.get(el.path.slice(0, el.path.lastIndexOf('.')));
    const node = buildNode(el, parent);
    root ??= node;
    byPath.set(el.path, node);
    if (el.contentReference) references.push([node, el.contentReference.slice(el.contentReference.indexOf('#') + 1)]);
    if (parent) (parent.children as ElementNode[]).push(node);
  }
  // Recursive structures (Questionnaire.item.item...) share the referenced element's children.
  for (const [node, target] of references) node.children = byPath.get(target)?.children ?? [];
  return { type: sd.type as string, kind: sd.kind, root: root ?? buildNode({ id: sd.type, path: sd.type as string }, undefined) };
}

function buildNode(el: ElementDefinition, parent: ElementNode | undefined): ElementNode {
  const last = el.path.slice(el.path.lastIndexOf('.') + 1);
  const choice = last.endsWith('[x]');
  const name = choice ? last.slice(0, -3) : last;
  const types = (el.type ?? []).map(typeCode);
  const primitive = types.length > 0 && types.every(isPrimitiveType);
  const constraints = el.constraint ?? [];
  const base = el.path;
  const parentPath = parent?.path ?? el.path.slice(0, el.path.lastIndexOf('.'));
  return {
    path: el.path,
    name,
    choice,
    repeating: (el.base?.max ?? el.max) !== '1' && parent !== undefined,
    min: el.min ?? 0,
    max: cardinalityMax(el.max),
    types,
    keys: jsonKeys(name, choice, types),
    ...targetTypesOf(el),
    requiredValueSet: el.binding?.strength === 'required' && el.binding.valueSet ? stripVersion(el.binding.valueSet) : undefined,
    invariants: primitive ? [] : compileInvariants(constraints, base),
    listInvariants: primitive && parent ? compileInvariants(constraints, parentPath, name) : [],
    children: [],
  };
}

/** The resource types of a Reference element's core target profiles; none when it may point anywhere. */
function targetTypesOf(el: ElementDefinition): { targetTypes?: ReadonlySet<string> } {
  const profiles = (el.type ?? []).filter((t) => t.code === 'Reference').flatMap((t) => t.targetProfile ?? []);
  const types = profiles.map((p) => (stripVersion(p).startsWith(CORE_PREFIX) ? stripVersion(p).slice(CORE_PREFIX.length) : undefined));
  if (!types.length || types.some((t) => t === undefined || t === 'Resource' || t === 'DomainResource')) return {};
  return { targetTypes: new Set(types as string[]) };
}
