import type { R4Definitions } from '../fhir/definitions.js';

/**
 * The R4 Patient compartment lists Schedule (by `actor`), so a patient would see only schedules
 * of which they are the actor, and could never find a practitioner's free slots
 * (`Slot?schedule.actor=Practitioner/…&status=free`, issue 17). A practitioner's availability is
 * not part of anyone's record: FhirGate leaves Schedule out of the compartment, like Practitioner,
 * for authorization, search and Consents alike. Everything else of the official definition stays.
 */
export function withPublicAvailability(definitions: R4Definitions): R4Definitions {
  const resource = (definitions.patientCompartment.resource ?? []).map((entry) => (entry.code === 'Schedule' ? { code: entry.code } : entry));
  return { ...definitions, patientCompartment: { ...definitions.patientCompartment, resource } };
}
