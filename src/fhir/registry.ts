import type { SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import type { R4Definitions } from './definitions.js';
import { FhirError } from './errors.js';

/** The FHIR RESTful interactions FhirGate implements (codes from the CapabilityStatement value sets). */
export type TypeInteraction = 'read' | 'vread' | 'update' | 'delete' | 'history-instance' | 'history-type' | 'create' | 'search-type';

const ALL_INTERACTIONS: readonly TypeInteraction[] = ['read', 'vread', 'update', 'delete', 'history-instance', 'history-type', 'create', 'search-type'];

/**
 * The resource types FhirGate serves, and how. This table is the only place a type is named:
 * adding an eighth type is one line here. `without` removes interactions for that type.
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

export interface Registry {
  /** Served type names, in table order. */
  readonly types: readonly string[];
  has(type: string): boolean;
  /** The type's info; throws FhirError `unknown-type` (404) for anything not served. */
  get(type: string): ResourceTypeInfo;
  /** Throws `method-not-allowed` when the type does not support the interaction. */
  assertSupports(type: string, interaction: TypeInteraction): ResourceTypeInfo;
}

/** Builds the registry of served types from the official R4 definitions. */
export function createRegistry(defs: R4Definitions, served: Readonly<Record<string, { without?: readonly TypeInteraction[] }>> = SERVED_TYPES): Registry {
  const infos = new Map<string, ResourceTypeInfo>();
  for (const [type, options] of Object.entries(served)) {
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
