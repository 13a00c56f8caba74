import type { CapabilityStatement, CapabilityStatementRestResource, ResourceType } from '@medplum/fhirtypes';
import { TYPE_OPERATIONS } from './interactions/index.js';
import type { Registry } from './registry.js';

export interface CapabilityOptions {
  registry: Registry;
  fhirBaseUrl: string;
  softwareVersion: string;
  /** Profiles in `profiles/`, by the resource type they constrain. */
  supportedProfiles: ReadonlyMap<string, readonly string[]>;
  /** Response formats the HTTP edge serves. */
  formats: readonly string[];
  date: Date;
}

/**
 * Generates the CapabilityStatement from what the server really supports: the registry's types and
 * interactions, the operations table and the shipped profiles. Nothing here is written by hand per type.
 */
export function buildCapabilityStatement(options: CapabilityOptions): CapabilityStatement {
  const { registry } = options;
  const resource: CapabilityStatementRestResource[] = registry.types.map((type) => {
    const info = registry.get(type);
    return {
      type: type as ResourceType,
      profile: info.structureDefinition.url,
      ...(options.supportedProfiles.get(type)?.length ? { supportedProfile: [...options.supportedProfiles.get(type)!] } : {}),
      interaction: [...info.interactions].map((code) => ({ code })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: info.interactions.has('update'),
      conditionalCreate: false,
      conditionalRead: 'full-support',
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
      operation: Object.entries(TYPE_OPERATIONS).map(([name, op]) => ({ name, definition: op.definition })),
    };
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: options.date.toISOString(),
    publisher: 'FhirGate',
    kind: 'instance',
    software: { name: 'FhirGate', version: options.softwareVersion },
    implementation: { description: 'FhirGate FHIR R4 server', url: options.fhirBaseUrl },
    fhirVersion: '4.0.1',
    format: [...options.formats],
    rest: [{ mode: 'server', resource }],
  };
}
