import type { Resource } from '@medplum/fhirtypes';
import { decode as resourceOf } from '../fhir/loader.js';
import type { PipelineDeps } from '../fhir/pipeline.js';
import type { WorkflowRequest } from './types.js';
import type { PreparedWrite } from '../fhir/write.js';
import type { WriteOp } from '../store/port.js';
import { dispenseWithinPrescription } from './dispensing.js';
import { withHolds } from './hold-index.js';
import { prescriberIsSignedIn } from './prescribing.js';
import { bookAppointment, bookingLocks } from './scheduling.js';
import type { WorkflowRule, WorkflowStep, WriteKind } from './types.js';

/**
 * FhirGate's clinical workflow rules (issue 17), as data: which rule runs on which write of which
 * type. Every write path (REST, bundles, the HL7 v2 feed) commits through `commitWrites`, which runs
 * this table, so none can skip it. README "Workflow rules" documents each rule and its error codes.
 */
export const WORKFLOW_RULES: readonly WorkflowRule[] = [
  { resourceType: 'MedicationRequest', on: ['create', 'update'], name: 'prescriber is the signed-in user', rule: prescriberIsSignedIn },
  { resourceType: 'MedicationDispense', on: ['create', 'update', 'delete'], name: 'dispense within the prescription', rule: dispenseWithinPrescription },
  { resourceType: 'Appointment', on: ['create', 'update', 'delete'], name: 'book free slots, no overlaps', rule: bookAppointment, locks: bookingLocks },
];

/** The pipeline step running `rules` on every prepared write; the writes they derive join the same commit. */
export function createWorkflow(rules: readonly WorkflowRule[] = WORKFLOW_RULES): WorkflowStep {
  const table = new Map<string, WorkflowRule[]>();
  for (const row of rules) for (const kind of row.on) table.set(`${row.resourceType}:${kind}`, [...(table.get(`${row.resourceType}:${kind}`) ?? []), row]);
  const step = async (deps: PipelineDeps, request: WorkflowRequest, writes: readonly PreparedWrite[]): Promise<WriteOp[]> => {
    const derived: WriteOp[] = [];
    for (const write of writes) {
      const { resourceType, id } = write.op.record;
      // The version this request is about to commit carries what it holds, for later overlap checks (hold-index.ts);
      // set on the prepared op itself, which is what the caller commits (the step returns only derived writes).
      write.op.record.index = withHolds(write.op, write.resource).record.index;
      const applicable = table.get(`${resourceType}:${kindOf(write)}`);
      if (!applicable) continue;
      const live = write.current && !write.current.deleted && write.current.resource ? write.current : undefined;
      const previous: Resource | undefined = live ? await resourceOf(deps, live) : undefined;
      for (const { rule } of applicable) derived.push(...(await rule({ deps, request, resourceType, id, resource: write.resource, previous })));
    }
    return derived;
  };
  const lockKeys = (resources: ReadonlyArray<Resource | undefined>): string[] =>
    resources.flatMap((resource) => (typeof resource === 'object' && resource !== null ? rules.filter((r) => r.resourceType === resource.resourceType).flatMap((r) => r.locks?.(resource) ?? []) : []));
  return Object.assign(step, { lockKeys });
}

function kindOf(write: PreparedWrite): WriteKind {
  if (!write.resource) return 'delete';
  return write.current && !write.current.deleted ? 'update' : 'create';
}
