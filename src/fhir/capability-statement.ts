import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestResourceSearchParam, ResourceType } from '@medplum/fhirtypes';
import { BULK_DATA_CAPABILITY, SYSTEM_EXPORT, TYPE_EXPORTS } from '../export/operations.js';
import type { SearchIndex } from '../search/types.js';
import { INTERACTIONS } from './interactions/table.js';
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
  /** The search parameters each type answers. */
  searchIndex: SearchIndex;
  /** Whether a conditional delete may remove several resources (FHIR_CONDITIONAL_DELETE_MULTIPLE). */
  conditionalDeleteMultiple?: boolean;
}

/** searchParam, searchInclude and searchRevInclude of a type, from the search index (search.html, capabilitystatement.html). */
function searchCapabilities(index: SearchIndex, types: readonly string[], type: string): Partial<CapabilityStatementRestResource> {
  const params = [...index.params(type).values()];
  const searchParam = params.map((p): CapabilityStatementRestResourceSearchParam => ({
    name: p.code,
    type: p.type,
    ...(p.definition ? { definition: p.definition } : {}),
  }));
  const references = (t: string) => [...index.params(t).values()].filter((p) => p.type === 'reference');
  const searchInclude = ['*', ...references(type).map((p) => `${type}:${p.code}`)];
  const searchRevInclude = types.flatMap((source) =>
    references(source)
      .filter((p) => !p.target || p.target.includes(type))
      .map((p) => `${source}:${p.code}`),
  );
  return { searchInclude, searchRevInclude, searchParam };
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
      // PATCH (JSON Patch and FHIRPath Patch) is an update: offered wherever update is.
      interaction: [...info.interactions, ...(info.interactions.has('update') ? (['patch'] as const) : [])].map((code) => ({ code })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: info.interactions.has('update'),
      conditionalCreate: info.interactions.has('create'),
      conditionalRead: 'full-support',
      conditionalUpdate: info.interactions.has('update'),
      conditionalDelete: !info.interactions.has('delete') ? 'not-supported' : options.conditionalDeleteMultiple ? 'multiple' : 'single',
      ...searchCapabilities(options.searchIndex, registry.types, type),
      operation: [
        // The operations of the interaction table offered on this type, each once (type and instance level alike).
        ...Object.values(INTERACTIONS)
          .flatMap((spec) => (spec.operation && (!spec.operation.types || spec.operation.types.includes(type)) ? [spec.operation] : []))
          .map((op) => ({ name: op.name, definition: op.definition })),
        ...(TYPE_EXPORTS[type] ? [TYPE_EXPORTS[type]] : []),
      ],
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
    instantiates: [BULK_DATA_CAPABILITY],
    format: [...options.formats],
    // Compartment search and $everything use the official Patient compartment.
    rest: [
      {
        mode: 'server',
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
        compartment: ['http://hl7.org/fhir/CompartmentDefinition/patient'],
        operation: [SYSTEM_EXPORT],
      },
    ],
  };
}
