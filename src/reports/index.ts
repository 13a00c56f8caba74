import type { InteractionHandler, TypeOperation } from '../fhir/interactions/index.js';
import type { Interaction } from '../fhir/request.js';
import { dispensesByMedication } from './dispenses.js';
import { newPatients } from './new-patients.js';
import { appointmentLoad, prescriptionsByPractitioner } from './per-practitioner.js';

/** The report handlers, one interaction each (authorized by src/auth/operation-access.ts). */
export const REPORT_INTERACTIONS = {
  'report-new-patients': newPatients,
  'report-prescriptions': prescriptionsByPractitioner,
  'report-dispenses': dispensesByMedication,
  'report-appointment-load': appointmentLoad,
} satisfies Partial<Record<Interaction, InteractionHandler>>;

const DEFINITION = 'https://fhirgate.dev/fhir/OperationDefinition/';

/** The reports as type-level operations (README "Reports"): each on the type it counts, by GET or POST. */
export const REPORT_OPERATIONS: Readonly<Record<string, TypeOperation>> = {
  'new-patients': { interaction: 'report-new-patients', definition: `${DEFINITION}new-patients`, types: ['Patient'], get: true },
  'prescriptions-by-practitioner': { interaction: 'report-prescriptions', definition: `${DEFINITION}prescriptions-by-practitioner`, types: ['MedicationRequest'], get: true },
  'dispenses-by-medication': { interaction: 'report-dispenses', definition: `${DEFINITION}dispenses-by-medication`, types: ['MedicationDispense'], get: true },
  'appointment-load': { interaction: 'report-appointment-load', definition: `${DEFINITION}appointment-load`, types: ['Appointment'], get: true },
};
