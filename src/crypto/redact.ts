/**
 * Locating and removing the sensitive values of a resource. Values are located through the
 * ResourceNodes fhirpath.js returns (`resolveInternalTypes: false`): each knows its property name,
 * its index in a repeating element and its parent, which gives an exact JSON path even for
 * primitives and choice types.
 */

/** One step of a JSON path: a property name or an array index. */
export type Step = string | number;

interface NodeLike {
  data?: unknown;
  propName?: string | null;
  index?: number | null;
  fhirNodeDataType?: string | null;
  parentResNode?: NodeLike | null;
}

function isNode(value: unknown): value is NodeLike {
  return typeof value === 'object' && value !== null && 'parentResNode' in value && 'propName' in value;
}

/**
 * The JSON key of a node in its parent: the property name, or for a choice element (`source` in
 * fhirpath, `sourceAttachment` in JSON) the name with its type appended.
 */
function jsonKey(node: NodeLike): string {
  const name = node.propName as string;
  const parent = node.parentResNode?.data as Record<string, unknown> | undefined;
  if (!parent || name in parent || `_${name}` in parent) return name;
  const type = node.fhirNodeDataType ?? '';
  return `${name}${type.charAt(0).toUpperCase()}${type.slice(1)}`;
}

/**
 * The JSON path of one value an expression selected. Throws when the expression yielded something
 * that is not an element of the resource (a computed value, or the resource itself): encryption
 * fails closed rather than store a value it could not find.
 */
export function pathOf(value: unknown): Step[] {
  if (!isNode(value) || !value.parentResNode || !value.propName) {
    throw new Error('an encrypted-element expression yielded a value that is not an element of the resource');
  }
  const steps: Step[] = [];
  for (let node: NodeLike = value; node.parentResNode; node = node.parentResNode) {
    if (!node.propName) throw new Error('an encrypted-element expression yielded a value without a path');
    if (node.index !== null && node.index !== undefined) steps.unshift(node.index);
    steps.unshift(jsonKey(node));
  }
  return steps;
}

const REMOVED = Symbol('removed');

type Json = Record<string, unknown>;

/** Replaces the value at `steps` (and its `_x` primitive extension twin) with the REMOVED mark. */
function mark(root: Json, steps: readonly Step[]): void {
  let container: unknown = root;
  for (let i = 0; i < steps.length - 1; i++) {
    container = (container as Json | unknown[] | undefined)?.[steps[i] as never];
    if (typeof container !== 'object' || container === null) return; // already removed with an ancestor
  }
  const last = steps[steps.length - 1];
  const target = container as Json & unknown[];
  if (typeof last === 'string') {
    if (last in target) target[last] = REMOVED;
    if (`_${last}` in target) target[`_${last}`] = REMOVED;
    return;
  }
  target[last] = REMOVED;
  const arrayKey = steps[steps.length - 2];
  if (typeof arrayKey !== 'string') return;
  let holder: unknown = root;
  for (let i = 0; i < steps.length - 2; i++) holder = (holder as Json)?.[steps[i] as never];
  const twin = (holder as Json | undefined)?.[`_${arrayKey}`];
  if (Array.isArray(twin) && last < twin.length) twin[last] = REMOVED;
}

/** Drops REMOVED marks, and arrays and objects left empty by them (FHIR JSON has no empty ones). */
function prune(value: unknown): unknown {
  if (value === REMOVED) return REMOVED;
  if (Array.isArray(value)) {
    const kept = value.map(prune).filter((v) => v !== REMOVED);
    return kept.length === 0 || kept.every((v) => v === null) ? REMOVED : kept;
  }
  if (typeof value === 'object' && value !== null) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      const p = prune(v);
      if (p !== REMOVED) out[k] = p;
    }
    return Object.keys(out).length === 0 ? REMOVED : out;
  }
  return value;
}

/**
 * The resource without the values at `paths`. Only the top-level elements the paths start in
 * are copied and pruned; the input is not modified. Returns the redacted copy and those
 * top-level keys (with their `_x` twins), whose original values the caller keeps.
 */
export function redact<T extends object>(resource: T, paths: readonly Step[][]): { redacted: T; keys: string[] } {
  const source = resource as unknown as Json;
  const roots = new Set(paths.map((p) => p[0] as string));
  const keys = [...roots].flatMap((k) => [k, `_${k}`]).filter((k) => k in source);
  const copy: Json = { ...source };
  // The usual case (the default rules select whole elements: telecom, address, contact...): an
  // element removed whole is dropped, not cloned, marked and pruned to nothing (issue 14).
  const whole = new Set([...roots].filter((root) => removesWhole(source, root, paths)));
  for (const root of whole) {
    delete copy[root];
    delete copy[`_${root}`];
  }
  const partial = [...roots].filter((root) => !whole.has(root)).flatMap((k) => [k, `_${k}`]).filter((k) => k in source);
  for (const key of partial) copy[key] = structuredClone(source[key]);
  for (const steps of paths) if (!whole.has(steps[0] as string)) mark(copy, steps);
  for (const key of partial) {
    const pruned = prune(copy[key]);
    if (pruned === REMOVED) delete copy[key];
    else copy[key] = pruned;
  }
  return { redacted: copy as T, keys };
}

/**
 * Whether `paths` remove the element `root` and its `_root` twin entirely, as marking and pruning
 * would: a path of the element itself, or one of every entry of a repeating element without a twin.
 */
function removesWhole(source: Json, root: string, paths: readonly Step[][]): boolean {
  const value = source[root];
  const entries = new Set<number>();
  for (const steps of paths) {
    if (steps[0] !== root) continue;
    if (steps.length === 1) return true;
    if (steps.length === 2 && typeof steps[1] === 'number') entries.add(steps[1]);
  }
  if (!Array.isArray(value) || value.length === 0 || source[`_${root}`] !== undefined) return false;
  for (let i = 0; i < value.length; i++) if (!entries.has(i)) return false;
  return true;
}
