import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

/**
 * Validates a resource before it is stored (and for `$validate`).
 * Returns every issue found, each with a FHIRPath `expression` locating it
 * (e.g. `Patient.name[0].given[1]`); an empty list means valid.
 */
export interface Validator {
  validate(resource: Resource): Promise<OperationOutcomeIssue[]>;
  /** Canonical URLs of the profiles in `profiles/`, by the resource type they constrain (for the CapabilityStatement). */
  supportedProfiles(): ReadonlyMap<string, readonly string[]>;
  /**
   * Compiles what the warm types need (schema validators, element models, invariants), one type
   * at a time, yielding to the event loop between types; a no-op for what is compiled already.
   */
  warm(): Promise<void>;
}
