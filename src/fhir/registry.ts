import type { SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import type { R4Definitions } from './definitions.js';
import { FhirError } from './errors.js';

/** The FHIR RESTful interactions FhirGate implements (codes from the CapabilityStatement value sets). */
export type TypeInteraction = 'read' | 'vread' | 'update' | 'delete' | 'history-instance' | 'history-type' | 'create' | 'search-type';

const ALL_INTERACTIONS: readonly TypeInteraction[] = ['read', 'vread', 'update', 'delete', 'history-instance', 'history-type', 'create', 'search-type'];

/**
 * FhirGate's core types: the ones with its own profiles and workflow rules, compiled at start-up
 * and sort-indexed in MongoDB. This table is the only place a type is named; `without` removes
 * interactions for that type. Every other R4 resource type is served too (issue 17) unless
 * FHIR_RESOURCE_TYPES narrows the set (`resourceTypesOf`).
 */
export const SERVED_TYPES: Readonly<Record<string, { without?: readonly TypeInteraction[] }>> = {
  Patient: {},
  Practitioner: {},
  MedicationRequest: {},
  MedicationDispense: {},
  Consent: {},
  // The audit trail is append-only: AuditEvents cannot be changed or removed through the API.
  AuditEvent: { without: ['update', 'delete'] },
  Appointment: {},
  // Availability (issue 17): a practitioner's Schedule and its Slots, booked by Appointments.
  Schedule: {},
  Slot: {},
};

/** What the server knows about one served resource type, all derived from the official definitions. */
export interface ResourceTypeInfo {
  type: string;
  structureDefinition: StructureDefinition;
  /** Official search parameters whose base includes this type (plus those on Resource/DomainResource). */
  searchParameters: SearchParameter[];
  interactions: ReadonlySet<TypeInteraction>;
}

/** Types of R4 that have no RESTful endpoint of their own (parameters.html: "not persisted"). */
const NOT_SERVED = new Set(['Parameters']);

/**
 * The types to serve: every concrete R4 resource type (`all`), only the core table (`core`), or the
 * core table plus the listed ones. Core types come first, in table order, then the others by name.
 */
export function resourceTypesOf(defs: R4Definitions, selection: 'all' | 'core' | readonly string[], core: readonly string[] = Object.keys(SERVED_TYPES)): string[] {
  const concrete = [...defs.structureDefinitions.values()]
    .filter((sd) => sd.kind === 'resource' && !sd.abstract && sd.type && !NOT_SERVED.has(sd.type))
    .map((sd) => sd.type as string)
    .sort();
  if (selection === 'core') return [...core];
  const extra = selection === 'all' ? concrete : selection;
  const unknown = extra.filter((t) => !concrete.includes(t));
  if (unknown.length > 0) throw new Error(`Not R4 resource types: ${unknown.join(', ')}`);
  return [...core, ...extra.filter((t) => !core.includes(t))];
}

export interface Registry {
  /** Served type names: the core types in table order, then the others. */
  readonly types: readonly string[];
  /** The core types (`SERVED_TYPES`): FhirGate's own profiles and rules; compiled at start. */
  readonly coreTypes: readonly string[];
  has(type: string): boolean;
  /** The type's info; throws FhirError `unknown-type` (404) for anything not served. */
  get(type: string): ResourceTypeInfo;
  /** Throws `method-not-allowed` when the type does not support the interaction. */
  assertSupports(type: string, interaction: TypeInteraction): ResourceTypeInfo;
}

/**
 * Builds the registry of served types from the official R4 definitions: the core table, plus the
 * `extra` types (all interactions; see `resourceTypesOf`).
 */
export function createRegistry(
  defs: R4Definitions,
  served: Readonly<Record<string, { without?: readonly TypeInteraction[] }>> = SERVED_TYPES,
  extra: readonly string[] = [],
): Registry {
  const infos = new Map<string, ResourceTypeInfo>();
  const table: Array<[string, { without?: readonly TypeInteraction[] }]> = [...Object.entries(served), ...extra.filter((t) => !(t in served)).map((t) => [t, {}] as [string, object])];
  for (const [type, options] of table) {
    const structureDefinition = defs.structureDefinitions.get(type);
    if (!structureDefinition || structureDefinition.kind !== 'resource') {
      throw new Error(`Served type ${type} is not an R4 resource type`);
    }
    const bases = new Set([type, 'Resource', 'DomainResource']);
    const searchParameters = defs.searchParameters.filter((sp) => sp.base?.some((b) => bases.has(b)));
    const interactions = new Set(ALL_INTERACTIONS.filter((i) => !options.without?.includes(i)));
    infos.set(type, { type, structureDefinition, searchParameters, interactions });
  }
  const types = [...infos.keys()];

  function get(type: string): ResourceTypeInfo {
    const info = infos.get(type);
    if (!info) throw new FhirError('unknown-type', `Resource type '${type}' is not served by this server`);
    return info;
  }

  return {
    types,
    coreTypes: Object.keys(served),
    has: (type) => infos.has(type),
    get,
    assertSupports(type, interaction) {
      const info = get(type);
      if (!info.interactions.has(interaction)) {
        throw new FhirError('method-not-allowed', `Interaction '${interaction}' is not supported for ${type}`);
      }
      return info;
    },
  };
}
