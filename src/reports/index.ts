import type { InteractionSpec } from '../fhir/interactions/table.js';
import { dispensesByMedication } from './dispenses.js';
import { newPatients } from './new-patients.js';
import { appointmentLoad, prescriptionsByPractitioner } from './per-practitioner.js';

const DEFINITION = 'https://fhirgate.dev/fhir/OperationDefinition/';

/** A report: a type-level operation on the type it counts, by GET or POST (it changes nothing; operations.html#request). */
function report(name: string, type: string, handler: InteractionSpec['handler']): InteractionSpec {
  return {
    handler,
    routes: [
      { method: 'GET', path: `[type]/$${name}` },
      { method: 'POST', path: `[type]/$${name}` },
    ],
    scopes: ['s'],
    // Counts, not records: Consents do not change them (README "Reports").
    consent: 'result',
    audit: { action: 'E' },
    operation: { name, definition: `${DEFINITION}${name}`, types: [type] },
    // Who may run a report is the role table's `operations` (auth/operation-access.ts), not a read permission.
    access: { name, resourceType: type, permission: 's' },
  };
}

/** The report rows of the interaction table (README "Reports"). */
export const REPORTS: Readonly<Record<string, InteractionSpec>> = {
  'report-new-patients': report('new-patients', 'Patient', newPatients),
  'report-prescriptions': report('prescriptions-by-practitioner', 'MedicationRequest', prescriptionsByPractitioner),
  'report-dispenses': report('dispenses-by-medication', 'MedicationDispense', dispensesByMedication),
  'report-appointment-load': report('appointment-load', 'Appointment', appointmentLoad),
};

