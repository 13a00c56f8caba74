import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { stripVersion } from '../valueset-expander.js';
import { effectiveElements } from './differential.js';
import { buildProfileModel, type ProfileModel, type TargetResolver } from './profile-model.js';

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * The profiles FhirGate knows (`profiles/`: resource profiles and the extension definitions
 * they use), by canonical URL, each built once into a checkable model.
 */
export class ProfileRegistry {
  private readonly models = new Map<string, ProfileModel>();
  private readonly byUrl: ReadonlyMap<string, StructureDefinition>;
  private readonly targets: TargetResolver;
  private readonly external = new WeakMap<StructureDefinition, ProfileModel>();

  constructor(
    profiles: readonly StructureDefinition[],
    private readonly definitions: ReadonlyMap<string, StructureDefinition>,
  ) {
    const byUrl = new Map(profiles.filter((p) => p.url).map((p) => [p.url as string, p]));
    this.byUrl = byUrl;
    this.targets = (canonical: string): string | undefined => {
      const url = stripVersion(canonical);
      if (url.startsWith(CORE_PREFIX) && definitions.has(url.slice(CORE_PREFIX.length))) return url.slice(CORE_PREFIX.length);
      return byUrl.get(url)?.type;
    };
    for (const sd of byUrl.values()) {
      const elements = effectiveElements(sd, (u) => byUrl.get(stripVersion(u)), definitions);
      this.models.set(sd.url as string, buildProfileModel(sd, elements, definitions, this.targets));
    }
  }

  /** The model of a profile, by canonical (a `|version` suffix is ignored). */
  get(canonical: string): ProfileModel | undefined {
    return this.models.get(stripVersion(canonical));
  }

  /** The StructureDefinition of a held profile, by canonical (a `|version` suffix is ignored). */
  definition(canonical: string): StructureDefinition | undefined {
    return this.byUrl.get(stripVersion(canonical));
  }

  /**
   * The model of a definition with a snapshot held elsewhere (the R4 extension definitions),
   * built on first use: most are never met, and building all of them would slow start-up.
   */
  modelOf(sd: StructureDefinition): ProfileModel {
    let model = this.external.get(sd);
    if (!model) {
      model = buildProfileModel(sd, sd.snapshot?.element ?? [], this.definitions, this.targets);
      this.external.set(sd, model);
    }
    return model;
  }

  /** True for the core definition of a type, which a resource may claim in `meta.profile`. */
  isCoreDefinition(canonical: string): boolean {
    const url = stripVersion(canonical);
    return url.startsWith(CORE_PREFIX) && this.definitions.has(url.slice(CORE_PREFIX.length));
  }

  /** Canonicals of the resource profiles held (not extension or datatype ones), by resource type. */
  resourceProfiles(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const model of this.models.values()) {
      if (model.kind === 'resource') out.set(model.type, [...(out.get(model.type) ?? []), model.url].sort());
    }
    return out;
  }
}

/** Reads every StructureDefinition JSON file in `dir` (a missing folder means no profiles). */
export async function readProfiles(dir: string): Promise<StructureDefinition[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const parsed = await Promise.all(files.map(async (f) => JSON.parse(await readFile(path.join(dir, f), 'utf8')) as StructureDefinition));
  return parsed.filter((sd) => sd.resourceType === 'StructureDefinition');
}
