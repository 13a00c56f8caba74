import type { R4Definitions } from '../fhir/definitions.js';

/**
 * The R4 Patient compartment lists Schedule (by `actor`), so a patient would see only schedules
 * of which they are the actor, and could never find a practitioner's free slots
 * (`Slot?schedule.actor=Practitioner/…&status=free`, issue 17). A practitioner's availability is
 * not part of anyone's record: FhirGate leaves Schedule out of the compartment, like Practitioner,
 * for authorization, search and Consents alike. Everything else of the official definition stays.
 */
export function withPublicAvailability(definitions: R4Definitions): R4Definitions {
  // One result per definitions object: what is compiled from the definitions (validator, `sharedModels`)
  // is cached by the object, so a new copy per app boot would compile everything again (issue 16).
  let adjusted = adjustedOf.get(definitions);
  if (!adjusted) {
    const resource = (definitions.patientCompartment.resource ?? []).map((entry) => (entry.code === 'Schedule' ? { code: entry.code } : entry));
    adjusted = { ...definitions, patientCompartment: { ...definitions.patientCompartment, resource } };
    adjustedOf.set(definitions, adjusted);
  }
  return adjusted;
}

const adjustedOf = new WeakMap<R4Definitions, R4Definitions>();
