import type { CodeSystem, CodeSystemConcept } from '@medplum/fhirtypes';

/** One concept of a code system, flattened out of its nesting. */
export interface IndexedConcept {
  readonly code: string;
  readonly display?: string;
  /** Property values by property code, as strings (`valueCode`, `valueString`, `valueBoolean`...). */
  readonly properties: ReadonlyMap<string, readonly string[]>;
}

/**
 * A CodeSystem's concepts by code, with their subsumption hierarchy.
 * The hierarchy comes from nested `concept` arrays and from the `parent`/`child`/`subsumedBy`
 * properties: HL7 publishes both styles (v3 code systems nest, some FHIR ones use properties).
 */
export class CodeSystemIndex {
  readonly url: string;
  /** Only `complete` code systems can be expanded in full; fragments could reject valid codes. */
  readonly complete: boolean;
  private readonly concepts = new Map<string, IndexedConcept>();
  private readonly children = new Map<string, Set<string>>();

  constructor(codeSystem: CodeSystem) {
    this.url = codeSystem.url ?? '';
    this.complete = codeSystem.content === 'complete';
    this.addConcepts(codeSystem.concept ?? [], undefined);
    for (const concept of this.concepts.values()) {
      for (const parent of [...(concept.properties.get('parent') ?? []), ...(concept.properties.get('subsumedBy') ?? [])]) {
        this.link(parent, concept.code);
      }
      for (const child of concept.properties.get('child') ?? []) this.link(concept.code, child);
    }
  }

  /** Every concept, in definition order. */
  all(): IndexedConcept[] {
    return [...this.concepts.values()];
  }

  get(code: string): IndexedConcept | undefined {
    return this.concepts.get(code);
  }

  /** The concepts strictly below `code` in the hierarchy (not including it). */
  descendants(code: string): IndexedConcept[] {
    const found = new Set<string>();
    const stack = [...(this.children.get(code) ?? [])];
    while (stack.length) {
      const next = stack.pop() as string;
      if (found.has(next)) continue;
      found.add(next);
      stack.push(...(this.children.get(next) ?? []));
    }
    return [...found].map((c) => this.concepts.get(c)).filter((c): c is IndexedConcept => c !== undefined);
  }

  private addConcepts(list: CodeSystemConcept[], parent: string | undefined): void {
    for (const concept of list) {
      if (!concept.code) continue;
      const properties = new Map<string, string[]>();
      for (const p of concept.property ?? []) {
        const value = p.valueCode ?? p.valueString ?? p.valueCoding?.code ?? (p.valueBoolean === undefined ? undefined : String(p.valueBoolean));
        if (p.code && value !== undefined) properties.set(p.code, [...(properties.get(p.code) ?? []), value]);
      }
      this.concepts.set(concept.code, { code: concept.code, display: concept.display, properties });
      if (parent) this.link(parent, concept.code);
      this.addConcepts(concept.concept ?? [], concept.code);
    }
  }

  private link(parent: string, child: string): void {
    const set = this.children.get(parent) ?? new Set<string>();
    set.add(child);
    this.children.set(parent, set);
  }
}
