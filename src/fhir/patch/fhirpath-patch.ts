import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { FhirError } from '../errors.js';

/**
 * FHIRPath Patch (https://hl7.org/fhir/R4/fhirpatch.html): a Parameters resource whose `operation`
 * parameters add, insert, delete, replace or move elements found by FHIRPath. Operations apply in
 * order to a copy; the result is validated like any write by the caller.
 */

type OperationType = 'add' | 'insert' | 'delete' | 'replace' | 'move';

interface Operation {
  type: OperationType;
  path: string;
  name?: string;
  value?: unknown;
  index?: number;
  source?: number;
  destination?: number;
}

/** The parts of fhirpath.js's ResourceNode this module reads (evaluated with `resolveInternalTypes: false`). */
interface PathNode {
  data: unknown;
  path: string | null;
  propName: string | null;
  index: number | null;
  parentResNode: PathNode | null;
}

const model = r4Model as unknown as { path2Repeating: Record<string, boolean>; pathsDefinedElsewhere: Record<string, string> };

/** True when the Parameters body is a FHIRPath Patch document (every parameter an `operation`). */
export function isFhirPathPatch(body: unknown): body is Parameters {
  return typeof body === 'object' && body !== null && (body as Resource).resourceType === 'Parameters';
}

/** Applies a FHIRPath Patch to a copy of the resource. Malformed documents are a 400; operations that cannot apply, a 422. */
export function applyFhirPathPatch(resource: Resource, patch: Parameters): Resource {
  const doc = structuredClone(resource) as Resource;
  const parameters = patch.parameter ?? [];
  if (parameters.length === 0) throw malformed('The FHIRPath Patch has no operation');
  parameters.forEach((parameter, i) => apply(doc, parseOperation(parameter, i), i));
  return doc;
}

function malformed(message: string): FhirError {
  return new FhirError('bad-request', message);
}

function failed(i: number, message: string): FhirError {
  return new FhirError('patch-failed', `FHIRPath Patch operation ${i + 1}: ${message}`, { expression: [`Parameters.parameter[${i}]`] });
}

function parseOperation(parameter: ParametersParameter, i: number): Operation {
  if (parameter.name !== 'operation') throw malformed(`Parameter ${i + 1} of a FHIRPath Patch must be named 'operation', not '${String(parameter.name).slice(0, 40)}'`);
  const parts = new Map((parameter.part ?? []).map((p) => [p.name, p]));
  const type = parts.get('type')?.valueCode;
  const path = parts.get('path')?.valueString;
  if (!type || !['add', 'insert', 'delete', 'replace', 'move'].includes(type)) throw malformed(`Operation ${i + 1}: type must be add, insert, delete, replace or move`);
  if (!path) throw malformed(`Operation ${i + 1}: a path is required`);
  const op: Operation = { type: type as OperationType, path };
  const name = parts.get('name')?.valueString;
  if (name !== undefined) op.name = name;
  const value = parts.get('value');
  if (value) op.value = valueOf(value);
  for (const key of ['index', 'source', 'destination'] as const) {
    const n = parts.get(key)?.valueInteger;
    if (n !== undefined) op[key] = n;
  }
  const needs: Record<OperationType, Array<keyof Operation>> = { add: ['name', 'value'], insert: ['value', 'index'], delete: [], replace: ['value'], move: ['source', 'destination'] };
  const missing = needs[op.type].filter((k) => op[k] === undefined);
  if (missing.length > 0) throw malformed(`Operation ${i + 1} (${op.type}) needs ${missing.join(' and ')}`);
  return op;
}

/** The content of a `value` part: its value[x], or an element built from its own parts (anonymous types). */
function valueOf(part: ParametersParameter): unknown {
  const key = Object.keys(part).find((k) => k.startsWith('value') && k.length > 5);
  if (key) return (part as unknown as Record<string, unknown>)[key];
  const element: Record<string, unknown> = {};
  for (const child of part.part ?? []) {
    const v = valueOf(child);
    const existing = element[child.name];
    element[child.name] = existing === undefined ? v : Array.isArray(existing) ? [...existing, v] : [existing, v];
  }
  return element;
}

function evaluate(doc: Resource, op: Operation, i: number): PathNode[] {
  try {
    return fhirpath.evaluate(doc, op.path, undefined, r4Model, { resolveInternalTypes: false }) as PathNode[];
  } catch {
    throw malformed(`Operation ${i + 1}: '${op.path.slice(0, 100)}' is not a valid FHIRPath expression`);
  }
}

function single(nodes: PathNode[], op: Operation, i: number): PathNode {
  if (nodes.length !== 1) throw failed(i, `'${op.path}' must select exactly one element, it selects ${nodes.length}`);
  return nodes[0];
}

/** Where a node lives in its parent: the object holding it, the JSON key (choice types resolved) and the list index. */
function slot(node: PathNode, op: Operation, i: number): { parent: Record<string, unknown>; key: string; index: number | null } {
  const parent = node.parentResNode?.data as Record<string, unknown> | undefined;
  if (!parent || typeof parent !== 'object' || node.propName === null) throw failed(i, `'${op.path}' does not select an element of the resource`);
  const name = node.propName;
  const key = name in parent ? name : Object.keys(parent).find((k) => k.startsWith(name) && /^[A-Z]/.test(k.slice(name.length)));
  if (!key) throw failed(i, `'${op.path}' does not select an element of the resource`);
  return { parent, key, index: node.index };
}

function listAt(doc: Resource, op: Operation, i: number): unknown[] {
  const nodes = evaluate(doc, op, i);
  if (nodes.length === 0) throw failed(i, `'${op.path}' selects no list`);
  const { parent, key } = slot(nodes[0], op, i);
  const list = parent[key];
  if (!Array.isArray(list)) throw failed(i, `'${op.path}' does not select a repeating element`);
  return list;
}

function apply(doc: Resource, op: Operation, i: number): void {
  switch (op.type) {
    case 'add': {
      const target = single(evaluate(doc, op, i), op, i);
      if (typeof target.data !== 'object' || target.data === null) throw failed(i, `'${op.path}' selects a primitive; add needs an element to add to`);
      const container = target.data as Record<string, unknown>;
      const elementPath = `${target.path}.${op.name}`;
      const repeating = model.path2Repeating[model.pathsDefinedElsewhere[elementPath] ?? elementPath] === true;
      const existing = container[op.name!];
      if (repeating) container[op.name!] = [...(Array.isArray(existing) ? existing : []), op.value];
      else if (existing !== undefined) throw failed(i, `'${op.name}' already has a value; use replace`);
      else container[op.name!] = op.value;
      return;
    }
    case 'insert': {
      const list = listAt(doc, op, i);
      if (op.index! < 0 || op.index! > list.length) throw failed(i, `index ${op.index} is outside the list (0..${list.length})`);
      list.splice(op.index!, 0, op.value);
      return;
    }
    case 'delete': {
      const nodes = evaluate(doc, op, i);
      if (nodes.length === 0) return; // deleting what is not there is not an error (fhirpatch.html)
      const { parent, key, index } = slot(single(nodes, op, i), op, i);
      removeAt(parent, key, index);
      return;
    }
    case 'replace': {
      const { parent, key, index } = slot(single(evaluate(doc, op, i), op, i), op, i);
      if (index === null) parent[key] = op.value;
      else (parent[key] as unknown[])[index] = op.value;
      return;
    }
    case 'move': {
      const list = listAt(doc, op, i);
      const { source, destination } = op as Required<Pick<Operation, 'source' | 'destination'>>;
      if (source < 0 || source >= list.length || destination < 0 || destination >= list.length) throw failed(i, `source and destination must be within the list (0..${list.length - 1})`);
      list.splice(destination, 0, ...list.splice(source, 1));
      return;
    }
  }
}

/** Removes a value, its primitive extension twin (`_key`) and an emptied list, so the result stays valid JSON FHIR. */
function removeAt(parent: Record<string, unknown>, key: string, index: number | null): void {
  const twin = `_${key}`;
  if (index === null) {
    delete parent[key];
    delete parent[twin];
    return;
  }
  (parent[key] as unknown[]).splice(index, 1);
  if (Array.isArray(parent[twin])) (parent[twin] as unknown[]).splice(index, 1);
  if ((parent[key] as unknown[]).length === 0) {
    delete parent[key];
    delete parent[twin];
  }
}
