import type { R4Definitions } from '../fhir/definitions.js';

/**
 * The element paths whose References decide the Patient compartment (`MedicationRequest.subject`,
 * `Appointment.participant.actor`, ...): the simple FHIRPath expressions of the search parameters
 * the official Patient CompartmentDefinition names. A Reference there to a type its element does
 * not allow (`MedicationRequest.subject = Practitioner/x`) would take the resource out of (or into)
 * a patient's record, and so out of that patient's Consents: such a target is an error, not the
 * warning other wrong targets get (https://hl7.org/fhir/R4/references.html).
 */
export function compartmentReferencePaths(definitions: R4Definitions): ReadonlySet<string> {
  const paths = new Set<string>();
  const byTypeAndCode = new Map<string, string>();
  for (const sp of definitions.searchParameters) {
    for (const base of sp.base ?? []) if (sp.code && sp.expression) byTypeAndCode.set(`${base}.${sp.code}`, sp.expression);
  }
  for (const resource of definitions.patientCompartment.resource ?? []) {
    for (const code of resource.param ?? []) {
      const expression = byTypeAndCode.get(`${resource.code}.${code}`);
      for (const part of expression?.split('|') ?? []) {
        // Only plain paths of this type (`Type.a.b`); `where(resolve() is Patient)` and friends are left to the warning.
        const path = part.trim();
        if (path.startsWith(`${resource.code}.`) && /^[A-Za-z]+(\.[A-Za-z]+)+$/.test(path)) paths.add(path);
      }
    }
  }
  return paths;
}
