import type { SearchParameter } from '@medplum/fhirtypes';
import { BREAK_GLASS_EXTENSION } from '../audit/audit-event.js';
import type { R4Definitions } from '../fhir/definitions.js';

/**
 * `AuditEvent?break-glass=true`: the accesses a practitioner made by breaking the glass (issue 8
 * flags them with an extension on their AuditEvent). R4 has no search parameter for it; this one
 * lets a patient subscribe to `AuditEvent?patient=Patient/123&break-glass=true` (issue 18) and an
 * auditor search for them. Indexed for AuditEvents written from now on.
 */
export const BREAK_GLASS_SEARCH: SearchParameter = {
  resourceType: 'SearchParameter',
  id: 'AuditEvent-break-glass',
  url: 'https://fhirgate.dev/fhir/SearchParameter/AuditEvent-break-glass',
  name: 'break-glass',
  status: 'active',
  description: 'Accesses made by breaking the glass (emergency override of a patient Consent)',
  code: 'break-glass',
  base: ['AuditEvent'],
  type: 'token',
  expression: `AuditEvent.extension.where(url='${BREAK_GLASS_EXTENSION}').value`,
};

/** The R4 definitions with the break-glass search parameter added. */
export function withBreakGlassSearch(definitions: R4Definitions): R4Definitions {
  return { ...definitions, searchParameters: [...definitions.searchParameters, BREAK_GLASS_SEARCH] };
}
