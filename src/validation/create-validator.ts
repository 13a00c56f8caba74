import { compartmentReferencePaths } from './compartment-references.js';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { R4Definitions } from '../fhir/definitions.js';
import { BaseWalker, type WalkEnv } from './base-walker.js';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './depth.js';
import { ExtensionChecker } from './extensions/extension-checker.js';
import { ExtensionDefinitions } from './extensions/extension-definitions.js';
import { dedupeIssues, makeIssue } from './issues.js';
import { isObject, type JsonObject } from './json-items.js';
import { ProfileRegistry, readProfiles } from './profiles/profile-registry.js';
import { ProfileWalker } from './profiles/profile-walker.js';
import { sharedModels } from './shared-models.js';
import { structureIssues } from './structure-issues.js';
import { loadTerminology } from './terminology.js';
import type { Validator } from './validator.js';

export interface ValidatorOptions {
  definitions: R4Definitions;
  /** The resource types the server serves; others are rejected at the top level. */
  resourceTypes: readonly string[];
  /** Types compiled at start (default: all of `resourceTypes`); the others on first use (issue 17). */
  warmTypes?: readonly string[];
  /**
   * Leave the warm types to `warm()` (the app calls it once listening, issue 13: about 0.8 s of
   * start-up); a request meeting a type before then compiles it, as for any other type.
   */
  warmLater?: boolean;
  /** Absolute path of `<root>/profiles`. */
  profilesDir: string;
  /** Absolute path of `<root>/terminology`. */
  terminologyDir: string;
  /**
   * FHIR_VALIDATION_STRICT: a `meta.profile` the server does not hold, and a Reference to a
   * type its element does not allow, are errors (rejected) instead of warnings.
   */
  strict?: boolean;
}

/**
 * Builds the validator every write passes through: structure and formats (official JSON schema),
 * cardinality, required bindings, invariants (FHIRPath) and the profiles a resource claims in
 * `meta.profile`. Everything compiled is built here, once; `validate` only runs it.
 */
export async function createValidator(options: ValidatorOptions): Promise<Validator> {
  const { structure, registry } = sharedModels(options.definitions);
  const [terminology, profileDefinitions] = await Promise.all([loadTerminology(options.terminologyDir), readProfiles(options.profilesDir)]);
  const profiles = new ProfileRegistry(profileDefinitions, options.definitions.structureDefinitions);
  const strict = options.strict ?? false;
  const profileWalker = new ProfileWalker(profiles, terminology);
  const extensions = new ExtensionChecker(new ExtensionDefinitions(profiles, options.definitions.extensionDefinitions), profileWalker, (t) => registry.baseTypes(t));
  const walker = new BaseWalker(registry, terminology, { strict, extensions, compartmentPaths: compartmentReferencePaths(options.definitions) });
  const served = new Set(options.resourceTypes);
  // Compile now (or in `warm()`) what every request needs; types met only inside `contained` compile on first use.
  const warmTypes = options.warmTypes ?? options.resourceTypes;
  const warmType = (type: string): void => {
    structure.warm([type]);
    registry.warm([type]);
  };
  if (!options.warmLater) warmTypes.forEach(warmType);

  const profileIssues = (resource: JsonObject, location: string, env: WalkEnv): void => {
    const meta = isObject(resource.meta) ? resource.meta : undefined;
    const claimed = Array.isArray(meta?.profile) ? meta.profile : [];
    claimed.forEach((canonical, i) => {
      if (typeof canonical !== 'string' || profiles.isCoreDefinition(canonical)) return;
      const model = profiles.get(canonical);
      const where = `${location}.meta.profile[${i}]`;
      if (!model) {
        // Unknown profiles are a warning by default: the resource may be valid against a profile
        // this server simply does not hold (https://hl7.org/fhir/R4/profiling.html#claims).
        // A strict server refuses what it cannot check.
        env.issues.push(
          strict
            ? makeIssue('error', 'not-supported', `Profile ${canonical} is not known to this server, which only accepts resources it can check against every profile they claim`, where)
            : makeIssue('warning', 'not-supported', `Profile ${canonical} is not known to this server, so the resource was not checked against it`, where),
        );
      } else if (model.type !== resource.resourceType) {
        env.issues.push(makeIssue('error', 'invalid', `Profile ${canonical} is a profile of ${model.type}, not of ${String(resource.resourceType)}`, where));
      } else {
        profileWalker.walk(model, resource, location, env);
      }
    });
  };

  const supported = profiles.resourceProfiles();
  return {
    supportedProfiles: () => supported,
    async warm() {
      for (const type of warmTypes) {
        warmType(type);
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    async validate(resource: Resource): Promise<OperationOutcomeIssue[]> {
      const json = resource as unknown as JsonObject;
      if (!isObject(json) || typeof json.resourceType !== 'string') {
        return [makeIssue('error', 'structure', 'A resource must be a JSON object with a resourceType', 'Resource')];
      }
      if (!served.has(json.resourceType)) {
        return [makeIssue('error', 'not-supported', `Resource type ${json.resourceType} is not supported by this server`, json.resourceType)];
      }
      if (nestedDeeperThan(json, MAX_JSON_DEPTH)) {
        return [makeIssue('error', 'structure', `The resource nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep; FhirGate does not process deeper documents`, json.resourceType)];
      }
      const env: WalkEnv = { issues: structureIssues(json, structure.validate(json), registry), resource: json, rootResource: json };
      walker.walkResource(json, json.resourceType, env);
      profileIssues(json, json.resourceType, env);
      if (Array.isArray(json.contained)) {
        json.contained.forEach((c, i) => isObject(c) && profileIssues(c, `${json.resourceType}.contained[${i}]`, { ...env, resource: c }));
      }
      return dedupeIssues(env.issues);
    },
  };
}

// Validators built in this process, by definitions object and by what else makes two differ.
const built = new WeakMap<R4Definitions, Map<string, Promise<Validator>>>();

/**
 * `createValidator`, once per process for the same definitions, folders and settings: an app boot
 * reuses what an earlier boot compiled (tests start dozens of servers per worker, issue 16). The
 * folders are read when first built; a deployment reads them once at start-up anyway.
 */
export function sharedValidator(options: ValidatorOptions): Promise<Validator> {
  let byKey = built.get(options.definitions);
  if (!byKey) built.set(options.definitions, (byKey = new Map()));
  const key = JSON.stringify([options.profilesDir, options.terminologyDir, options.strict ?? false, options.resourceTypes, options.warmTypes ?? null, options.warmLater ?? false]);
  let validator = byKey.get(key);
  if (!validator) {
    validator = createValidator(options);
    validator.catch(() => byKey.delete(key));
    byKey.set(key, validator);
  }
  return validator;
}
