import { isPrimitiveType, type ElementNode } from './element-model.js';
import { isObject } from './json-items.js';
import type { ModelRegistry } from './model-registry.js';

/** Where a JSON pointer lands: its FHIRPath location and, when known, the FHIR type there. */
export interface PointerLocation {
  readonly location: string;
  readonly type?: string;
}

/**
 * Turns a JSON pointer into the resource (`/name/0/_given/1/extension/0`) into the FHIRPath
 * location FHIR uses in `OperationOutcome.issue.expression` (`Patient.name[0].given[1].extension[0]`):
 * `_x` companions fold into their element, choice keys become `value.ofType(Quantity)`, array
 * indexes are shown for repeating elements. Walks the element models alongside the data so
 * contained resources switch to their own type. Keys the model does not know (the usual
 * reason for the error) are appended as they are.
 */
export function pointerToFhirPath(resource: unknown, pointer: string, registry: ModelRegistry): PointerLocation {
  const rootType = isObject(resource) && typeof resource.resourceType === 'string' ? resource.resourceType : 'Resource';
  const segments = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let location = rootType;
  let data: unknown = resource;
  let children: readonly ElementNode[] = registry.model(rootType)?.root.children ?? [];
  let type: string | undefined = rootType;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (/^\d+$/.test(segment)) {
      location += `[${segment}]`;
      data = Array.isArray(data) ? data[Number(segment)] : undefined;
      continue;
    }
    const companion = segment.startsWith('_');
    const key = companion ? segment.slice(1) : segment;
    const match = findKey(children, key);
    data = isObject(data) ? data[segment] : undefined;
    if (!match) {
      location += `.${segment}`;
      children = [];
      type = undefined;
      continue;
    }
    const node = match[0];
    type = companion ? 'Element' : match[1];
    location += `.${node.name}`;
    if (/^\d+$/.test(segments[i + 1] ?? '')) {
      i++;
      location += `[${segments[i]}]`;
      data = Array.isArray(data) ? data[Number(segments[i])] : undefined;
    }
    if (node.choice) location += `.ofType(${match[1]})`;
    children = nextChildren(node, match[1], companion, data, registry);
  }
  return { location, type };
}

function findKey(children: readonly ElementNode[], key: string): [ElementNode, string] | undefined {
  for (const node of children) {
    for (const k of node.keys) if (k.key === key) return [node, k.type];
  }
  return undefined;
}

function nextChildren(node: ElementNode, type: string, companion: boolean, data: unknown, registry: ModelRegistry): readonly ElementNode[] {
  if (companion) return registry.model('Element')?.root.children ?? [];
  if (isPrimitiveType(type)) return [];
  if (registry.isResourceType(type)) {
    const actual = isObject(data) && typeof data.resourceType === 'string' ? data.resourceType : type;
    return registry.model(actual)?.root.children ?? [];
  }
  return registry.childrenOf(node, type);
}
