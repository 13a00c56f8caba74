/** What the mappers need besides the message: configuration only, so every mapper stays a pure function. */
export interface MapContext {
  /** Assigning authority (CX-4 / HD-1, or HD-2 for ISO OIDs) → `Identifier.system` (HL7_IDENTIFIER_SYSTEMS). */
  identifierSystems: Readonly<Record<string, string>>;
  /** `Identifier.system` for an authority not in the table; `{authority}` is replaced (HL7_IDENTIFIER_SYSTEM_DEFAULT). */
  defaultIdentifierSystem: string;
  /** MSH-4 namespace of the message: the assigning authority of identifiers that name none. */
  sendingFacility: string;
  /** `meta.source` of every resource the message writes: the message's provenance. */
  source: string;
  /** Makes `urn:uuid:` full URLs; deterministic in tests. */
  uuid(): string;
}
