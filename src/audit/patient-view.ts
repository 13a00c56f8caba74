import type { AuditEvent } from '@medplum/fhirtypes';

const PATIENT = /^Patient\/([^/]+)(?:\/_history\/.*)?$/;

/**
 * An AuditEvent as the patient it is about may see it (issue 15): who did what to their record,
 * when, and how it ended. When the event is about other patients too (a search that listed several),
 * the other patients are left out, and with them every resource the event names, since those cannot
 * be told apart from the other patients' data; entities without a reference (the request id) stay.
 */
export function auditEventForPatient(event: AuditEvent, self: string): AuditEvent {
  const patientOf = (reference: string | undefined): string | undefined => (reference ? PATIENT.exec(reference)?.[1] : undefined);
  const entities = event.entity ?? [];
  const others = entities.some((e) => {
    const p = patientOf(e.what?.reference);
    return p !== undefined && p !== self;
  });
  const agentOthers = (event.agent ?? []).some((a) => {
    const p = patientOf(a.who?.reference);
    return p !== undefined && p !== self;
  });
  if (!others && !agentOthers) return event;
  const entity = entities.filter((e) => e.what?.reference === undefined || patientOf(e.what.reference) === self);
  const agent = (event.agent ?? []).map((a) => {
    const p = patientOf(a.who?.reference);
    if (p === undefined || p === self) return a;
    const { who: _who, ...rest } = a;
    return rest;
  });
  const { entity: _all, ...rest } = event;
  return { ...rest, agent, ...(entity.length > 0 ? { entity } : {}) };
}
