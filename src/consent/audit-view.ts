import type { Bundle } from '@medplum/fhirtypes';
import { auditEventForPatient } from '../audit/patient-view.js';
import { FhirError } from '../fhir/errors.js';
import type { FhirRequest, FhirResult } from '../fhir/request.js';

/** What a patient may ask of the audit trail (issue 15): their own events, by when, what and how it ended. */
export const OWN_AUDIT_PARAMS = new Set(['patient', 'date', 'type', 'subtype', 'action', 'outcome', 'break-glass', '_id', '_lastUpdated', '_count', '_sort', '_total', '_summary', '_format', '_pretty', '_cursor']);

export const auditSearch = (request: FhirRequest): boolean =>
  (request.interaction === 'search-type' && request.resourceType === 'AuditEvent') || (request.interaction === 'search-compartment' && request.compartmentTarget === 'AuditEvent');

/** A patient searches the audit trail about themselves only: no criteria naming others, no chains, no includes. */
export function assertOwnAuditQuery(params: Record<string, string[]>, self: string): void {
  for (const [name, values] of Object.entries(params)) {
    const base = name.split(/[:.]/)[0];
    const othersNamed = base === 'patient' && (name !== base || values.some((v) => v.split(',').some((p) => p !== `Patient/${self}` && p !== self)));
    if (!OWN_AUDIT_PARAMS.has(base) || othersNamed) {
      throw new FhirError('forbidden', `A patient searches the audit trail about themselves by ${[...OWN_AUDIT_PARAMS].filter((p) => !p.startsWith('_')).join(', ')}; '${name.slice(0, 40)}' is not one of them`);
    }
  }
}

/** What a patient sees of AuditEvents (single or in a Bundle): other patients left out (`auditEventForPatient`). */
export function patientView(who: { self?: string }, result: FhirResult): FhirResult {
  const self = who.self;
  const resource = result.resource;
  if (!self || !resource) return result;
  if (resource.resourceType === 'AuditEvent') return { ...result, resource: auditEventForPatient(resource, self) };
  if (resource.resourceType !== 'Bundle' || !(resource as Bundle).entry?.some((e) => e.resource?.resourceType === 'AuditEvent')) return result;
  const entry = (resource as Bundle).entry!.map((e) => (e.resource?.resourceType === 'AuditEvent' ? { ...e, resource: auditEventForPatient(e.resource, self) } : e));
  return { ...result, resource: { ...(resource as Bundle), entry } };
}
