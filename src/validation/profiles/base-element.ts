import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { typeCode } from '../element-model.js';

type Definitions = ReadonlyMap<string, StructureDefinition>;

const indexes = new WeakMap<StructureDefinition, Map<string, ElementDefinition>>();

function indexOf(sd: StructureDefinition): Map<string, ElementDefinition> {
  let index = indexes.get(sd);
  if (!index) {
    index = new Map((sd.snapshot?.element ?? []).map((e) => [e.path, e]));
    indexes.set(sd, index);
  }
  return index;
}

/**
 * The core R4 definition of an element path, following datatypes the way a snapshot unfolds
 * them: `Patient.identifier.system` is `Identifier.system` reached through `Patient.identifier`.
 * Undefined when the path goes through a choice (`value[x].code`) or does not exist.
 */
export function resolveBaseElement(path: string, definitions: Definitions): ElementDefinition | undefined {
  const segments = path.split('.');
  const sd = definitions.get(segments[0]);
  if (!sd) return undefined;
  const index = indexOf(sd);
  for (let i = segments.length; i >= 1; i--) {
    const element = index.get(segments.slice(0, i).join('.'));
    if (!element) continue;
    if (i === segments.length) return element;
    const rest = segments.slice(i).join('.');
    if (element.contentReference) return resolveBaseElement(`${element.contentReference.slice(element.contentReference.indexOf('#') + 1)}.${rest}`, definitions);
    const types = element.type ?? [];
    if (types.length !== 1) return undefined;
    const code = typeCode(types[0]);
    // Backbone elements have their children inline; the lookup above already failed for them.
    if (code === 'BackboneElement' || code === 'Element') return undefined;
    return resolveBaseElement(`${code}.${rest}`, definitions);
  }
  return undefined;
}
