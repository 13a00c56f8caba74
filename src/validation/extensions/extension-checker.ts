import type { WalkEnv } from '../base-walker.js';
import { makeIssue } from '../issues.js';
import type { JsonObject } from '../json-items.js';
import type { ProfileWalker } from '../profiles/profile-walker.js';
import type { ExtensionDefinition, ExtensionDefinitions } from './extension-definitions.js';
import { contextAllows, sitePaths, type Site } from './extension-site.js';

const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * Checks every extension against its definition (https://hl7.org/fhir/R4/extensibility.html):
 *
 * - an unknown extension is a warning: it may be valid, the server just cannot check it; an
 *   unknown modifierExtension is an error, because a modifier changes the meaning of what it
 *   extends and "applications SHALL NOT ignore" one they do not know
 *   (https://hl7.org/fhir/R4/extensibility.html#modifierExtension);
 * - a known one must be used where its context allows, as a modifierExtension exactly when it is
 *   a modifier, and its value[x] types, cardinalities and sub-extensions must match the
 *   definition (checked by the profile walker, the definition being a profile of Extension);
 * - inside a known complex extension, a sub-extension with a relative url must be one the
 *   definition names; an absolute url is an extension of its own, checked like any other.
 *
 * Definitions' `contextInvariant`s are not evaluated.
 */
export class ExtensionChecker {
  constructor(
    private readonly definitions: ExtensionDefinitions,
    private readonly profileWalker: ProfileWalker,
    private readonly baseTypes: (type: string) => readonly string[],
  ) {}

  /**
   * Checks one extension, used on the instance at `container` (as a modifierExtension when
   * `modifier`). Returns its definition when known, for the sub-extensions' checks.
   */
  check(extension: JsonObject, container: Site, modifier: boolean, location: string, env: WalkEnv): ExtensionDefinition | undefined {
    const url = extension.url;
    if (typeof url !== 'string' || url === '') return undefined; // reported as a missing or empty url
    const parent = container.extension;
    if (parent && !ABSOLUTE.test(url)) {
      // A sub-extension of a complex extension: its parent's definition says what it may be.
      // (A simple extension allows none: the profile walker reports it as not allowed.)
      if (parent.definition?.subExtensions.size && !parent.definition.subExtensions.has(url)) {
        const defined = [...parent.definition.subExtensions].join(', ');
        env.issues.push(makeIssue('error', 'extension', `Sub-extension '${url}' is not defined by extension ${parent.url} (defined: ${defined})`, location));
      }
      return undefined;
    }
    const resolution = this.definitions.resolve(url);
    const definition = resolution.definition;
    if (!definition) {
      const version = 'knownVersion' in resolution && resolution.knownVersion ? ` (this server holds version ${resolution.knownVersion})` : '';
      env.issues.push(
        modifier
          ? makeIssue('error', 'extension', `Unknown modifierExtension ${url}${version}: it may change the meaning of the resource, so it cannot be accepted`, location)
          : makeIssue('warning', 'extension', `Unknown extension ${url}${version}: accepted, but not checked`, location),
      );
      return undefined;
    }
    if (definition.modifier !== modifier) {
      const text = definition.modifier ? `Extension ${url} is a modifier extension, so it must be sent as a modifierExtension` : `Extension ${url} is not a modifier extension, so it must be sent as an extension, not a modifierExtension`;
      env.issues.push(makeIssue('error', 'extension', text, location));
    }
    if (!contextAllows(definition.contexts, container, this.baseTypes)) {
      const allowed = definition.contexts.map((c) => c.expression).join(', ');
      const here = sitePaths(container)[0];
      env.issues.push(makeIssue('error', 'extension', `Extension ${url} is not allowed on ${here} (allowed on: ${allowed})`, location));
    }
    // The definition fixes the unversioned url; a `|version` suffix was matched in `resolve`.
    this.profileWalker.walk(definition.model, url === definition.url ? extension : { ...extension, url: definition.url }, location, env);
    return definition;
  }
}
