/**
 * The Bulk Data operations as the CapabilityStatement lists them
 * (https://hl7.org/fhir/uv/bulkdata/CapabilityStatement-bulk-data.html).
 */
export const BULK_DATA_CAPABILITY = 'http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data';
export const SYSTEM_EXPORT = { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' };
/** Type-level export operations, by the type they are on. */
export const TYPE_EXPORTS: Readonly<Record<string, { name: string; definition: string }>> = {
  Patient: { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export' },
  Group: { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export' },
};
