import r4Model from 'fhirpath/fhir-context/r4';
import type { TypedValue } from './node.js';

/**
 * Search values read straight from the JSON, without the FHIRPath engine, for the branch
 * expressions that only navigate (issue 14, issue 19 item 8). Every write extracts the values of
 * every parameter of its type: through fhirpath.js that was ~12% of an HL7 ADT^A01's CPU and ~8%
 * of a read's (its AuditEvent). Three shapes are answered directly, which covers all but a handful
 * of the R4 expressions of the types FhirGate writes most (AuditEvent, Patient, Practitioner,
 * MedicationRequest, Appointment, ...):
 * - a path: `Patient.name.family`, `Resource.meta.tag`;
 * - a path filtered on a primitive child: `Patient.telecom.where(system='email')`;
 * - a choice element cast to one of its types: `(MedicationRequest.medication as Reference)`;
 * - the value of a resource's extension by url: `AuditEvent.extension.where(url='…').value` (the
 *   server's break-glass parameter, on every AuditEvent, which carries the chain's extension).
 * Each yields exactly the typed values fhirpath.js yields (the FHIR type of the element and its
 * `Type.element` path, for bindings), found by the same rules fhirpath.js applies to its R4 model
 * (`makeChildResNodes`); `test/search/direct-values.test.ts` checks the two agree on the AuditEvents
 * the server writes and on every official example of the corpus. Anything else (functions, logic,
 * extensions, choices without a cast) goes through fhirpath.js.
 */

/** One branch answered directly: the JSON keys to follow, an optional filter on the last element, its FHIR type and path. */
interface DirectPath {
  keys: readonly string[];
  /** The choice types of the last key in fhirpath.js's order, when it is a cast choice: the first one present is the value. */
  choice?: { element: string; suffixes: readonly string[]; cast: string };
  where?: { key: string; value: string };
  type: string;
  elementPath: string;
}

interface Model {
  choiceTypePaths: Record<string, string[]>;
  pathsDefinedElsewhere: Record<string, string>;
  path2Type: Record<string, string>;
  path2TypeWithoutElements: Record<string, string>;
}
const MODEL = r4Model as unknown as Model;

const PATH = /^([A-Za-z]+)((?:\.[a-z][A-Za-z0-9]*)+)$/;
const WHERE = /^(.+)\.where\(([a-z][A-Za-z0-9]*)\s*=\s*'([A-Za-z0-9\-.:/]*)'\)$/;
const CAST = /^\(\s*(.+)\s+as\s+([A-Za-z]+)\s*\)$/;

/** Follows the model from `resourceType` along `keys` (the last may be a cast choice); undefined where fhirpath.js might do more. */
function plan(resourceType: string, root: string, keys: string[], cast?: string): DirectPath | undefined {
  if (root !== resourceType && root !== 'Resource' && root !== 'DomainResource') return undefined;
  let path = resourceType;
  for (const [i, key] of keys.entries()) {
    const last = i === keys.length - 1;
    // `extension` has a path of its own in fhirpath.js; `_x` twins are reached through primitives only.
    if (key === 'extension' || key === 'modifierExtension') return undefined;
    const child = MODEL.pathsDefinedElsewhere[`${path}.${key}`] ?? `${path}.${key}`;
    const suffixes = MODEL.choiceTypePaths[child];
    if (suffixes) {
      if (!last || !cast) return undefined;
      const suffix = suffixes.find((s) => MODEL.path2Type[`${child}${s}`] === cast);
      if (!suffix) return undefined;
      return { keys: keys.slice(0, -1), choice: { element: key, suffixes, cast: suffix }, type: cast, elementPath: `${path}.${key}` };
    }
    if (cast && last) return undefined;
    const type = MODEL.path2Type[child];
    // An unknown element, or a primitive navigated into: left to fhirpath.js.
    if (!type || (!last && /^[a-z]/.test(type))) return undefined;
    if (last) return { keys, type, elementPath: `${path}.${key}` };
    path = MODEL.path2TypeWithoutElements[child] ?? child;
  }
  return undefined;
}

/** The direct form of one branch expression of a type, if it has one. */
function parse(resourceType: string, expression: string): DirectPath | undefined {
  const text = expression.trim();
  const cast = CAST.exec(text);
  const where = cast ? null : WHERE.exec(text);
  const path = PATH.exec(cast ? cast[1] : where ? where[1] : text);
  if (!path) return undefined;
  const found = plan(resourceType, path[1], path[2].slice(1).split('.'), cast?.[2]);
  if (!found || !where) return found;
  // The filter reads a primitive child of the element found (`ContactPoint.system`).
  const filtered = MODEL.path2Type[`${found.type}.${where[2]}`];
  return filtered && /^[a-z]/.test(filtered) && !MODEL.choiceTypePaths[`${found.type}.${where[2]}`] ? { ...found, where: { key: where[2], value: where[3] } } : undefined;
}

/** Follows `keys` from `node`, through repeating elements (arrays), collecting the non-null leaves. */
function collect(node: unknown, keys: readonly string[], at: number, out: unknown[]): void {
  if (node === null || node === undefined) return;
  if (Array.isArray(node)) {
    for (const item of node) collect(item, keys, at, out);
    return;
  }
  if (at === keys.length) {
    out.push(node);
    return;
  }
  if (typeof node === 'object') collect((node as Record<string, unknown>)[keys[at]], keys, at + 1, out);
}

/** The value of a choice element, as fhirpath.js picks it: the first of its types present (value or `_x` twin), if it is the cast one. */
function chosen(parent: unknown, choice: NonNullable<DirectPath['choice']>, out: unknown[]): void {
  if (typeof parent !== 'object' || parent === null) return;
  const object = parent as Record<string, unknown>;
  const present = choice.suffixes.find((s) => object[`${choice.element}${s}`] !== undefined || object[`_${choice.element}${s}`] !== undefined);
  if (present === choice.cast) collect(object[`${choice.element}${present}`], [], 0, out);
}

/**
 * Computed (boolean) branches answered directly in their common case only; `undefined` from the
 * function hands that resource to fhirpath.js. Patient `deceased` is `false` for a Patient without
 * `deceased[x]` (the usual one), which fhirpath.js evaluated for every Patient written.
 */
const COMPUTED: ReadonlyMap<string, (resource: unknown) => TypedValue[] | undefined> = new Map([
  ['Patient.deceased.exists() and Patient.deceased != false', (r: unknown) => (hasChoice(r, 'deceased', ['Boolean', 'DateTime']) ? undefined : [{ type: undefined, value: false }])],
]);

function hasChoice(resource: unknown, element: string, suffixes: readonly string[]): boolean {
  const object = resource as Record<string, unknown>;
  return suffixes.some((s) => object[`${element}${s}`] !== undefined || object[`_${element}${s}`] !== undefined);
}

const EXTENSION_VALUE = /^([A-Za-z]+)\.extension\.where\(url\s*=\s*'([^'\\]+)'\)\.value$/;
const VALUE_SUFFIXES = MODEL.choiceTypePaths['Extension.value'];

/** `Type.extension.where(url='u').value`: each such extension's `value[x]`, the first of the model's order present, as fhirpath.js picks it. */
function extensionValue(resourceType: string, expression: string): ((resource: unknown) => TypedValue[]) | undefined {
  const match = EXTENSION_VALUE.exec(expression.trim());
  if (!match || (match[1] !== resourceType && match[1] !== 'DomainResource') || !VALUE_SUFFIXES) return undefined;
  const url = match[2];
  return (resource) => {
    const out: TypedValue[] = [];
    const extensions: unknown[] = [];
    collect(resource, ['extension'], 0, extensions);
    for (const extension of extensions) {
      const object = extension as Record<string, unknown>;
      if (typeof extension !== 'object' || object.url !== url) continue;
      const suffix = VALUE_SUFFIXES.find((s) => object[`value${s}`] !== undefined || object[`_value${s}`] !== undefined);
      const value = suffix === undefined ? undefined : object[`value${suffix}`];
      if (value !== undefined && value !== null) out.push({ type: MODEL.path2Type[`Extension.value${suffix}`], value, elementPath: 'Extension.value' });
    }
    return out;
  };
}

/**
 * The direct evaluation of one branch expression of a type, when it has one: a function from the
 * resource to its typed values (undefined: this resource needs fhirpath.js); undefined when the
 * expression must always go through fhirpath.js.
 */
export function directBranch(resourceType: string, expression: string): ((resource: unknown) => TypedValue[] | undefined) | undefined {
  const computed = COMPUTED.get(expression.trim());
  if (computed) return computed;
  const extension = extensionValue(resourceType, expression);
  if (extension) return extension;
  const direct = parse(resourceType, expression);
  if (!direct) return undefined;
  const { keys, choice, where, type, elementPath } = direct;
  return (resource) => {
    let leaves: unknown[] = [];
    if (choice) {
      const parents: unknown[] = [];
      collect(resource, keys, 0, parents);
      for (const parent of parents) chosen(parent, choice, leaves);
    } else {
      collect(resource, keys, 0, leaves);
    }
    if (where) leaves = leaves.filter((leaf) => typeof leaf === 'object' && leaf !== null && (leaf as Record<string, unknown>)[where.key] === where.value);
    return leaves.map((value) => ({ type, value, elementPath }));
  };
}
