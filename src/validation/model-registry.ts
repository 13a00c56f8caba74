import type { StructureDefinition } from '@medplum/fhirtypes';
import { buildTypeModel, isPrimitiveType, type ElementNode, type TypeModel } from './element-model.js';

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * The element models of the base R4 types, built on first use and kept for the registry's life
 * (one registry per definitions object, shared by every validator built from it).
 */
export class ModelRegistry {
  private readonly models = new Map<string, TypeModel | undefined>();
  private readonly ancestors = new Map<string, readonly string[]>();

  constructor(private readonly definitions: ReadonlyMap<string, StructureDefinition>) {}

  /** The model of a resource or datatype by type name, or undefined if R4 has no such type. */
  model(type: string): TypeModel | undefined {
    if (!this.models.has(type)) {
      const sd = this.definitions.get(type);
      this.models.set(type, sd?.snapshot ? buildTypeModel(sd) : undefined);
    }
    return this.models.get(type);
  }

  /**
   * Builds the models of these types and of every datatype reachable from them now, so their
   * invariants are compiled at start-up rather than during the first request that meets them.
   */
  warm(types: readonly string[]): void {
    const pending = [...types, 'Element'];
    const seenTypes = new Set<string>();
    const seenNodes = new Set<ElementNode>();
    const visit = (node: ElementNode): void => {
      if (seenNodes.has(node)) return;
      seenNodes.add(node);
      pending.push(...node.types.filter((t) => !isPrimitiveType(t)));
      node.children.forEach(visit);
    };
    while (pending.length) {
      const type = pending.pop() as string;
      if (seenTypes.has(type)) continue;
      seenTypes.add(type);
      const model = this.model(type);
      if (model) visit(model.root);
    }
  }

  /**
   * The types a type specializes, nearest first, from `baseDefinition`: `Patient` →
   * `DomainResource`, `Resource`; `Age` → `Quantity`, `Element`; `code` → `string`, `Element`.
   */
  baseTypes(type: string): readonly string[] {
    let chain = this.ancestors.get(type);
    if (!chain) {
      const found: string[] = [];
      let base = this.definitions.get(type)?.baseDefinition;
      while (base?.startsWith(CORE_PREFIX) && found.length < 10) {
        const name = base.slice(CORE_PREFIX.length);
        found.push(name);
        base = this.definitions.get(name)?.baseDefinition;
      }
      chain = found;
      this.ancestors.set(type, chain);
    }
    return chain;
  }

  /** True for concrete and abstract resource types (`Resource` in `contained`). */
  isResourceType(type: string): boolean {
    return this.model(type)?.kind === 'resource';
  }

  /**
   * The children to walk inside an instance of `node` whose (chosen) type is `type`: the inline
   * children of a backbone element, or else the datatype's own elements.
   */
  childrenOf(node: ElementNode, type: string): readonly ElementNode[] {
    return node.children.length ? node.children : (this.model(type)?.root.children ?? []);
  }

  /** The human text of a base constraint (used for natively checked invariants), on the type's root or on `path`. */
  constraintText(type: string, key: string, path = type): string {
    const element = this.definitions.get(type)?.snapshot?.element?.find((e) => e.path === path);
    return element?.constraint?.find((c) => c.key === key)?.human ?? key;
  }
}
