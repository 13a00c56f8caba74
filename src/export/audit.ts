import type { AuditEventAgent, AuditEventEntity } from '@medplum/fhirtypes';
import type { AuditEventDraft } from '../audit/audit-sink.js';
import { applicationAgent, DCM, patientEntity } from '../audit/vocabulary.js';
import type { ExportJob } from './job.js';

/** `AuditEvent.entity.what.identifier.system` naming an export job; its value is the job id. */
export const EXPORT_JOB_SYSTEM = 'urn:fhirgate:export:job';
const RELATIVE_REFERENCE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;
const OPERATION = { system: 'http://hl7.org/fhir/restful-interaction', code: 'operation', display: '$export' };
const EXPORT = { system: DCM, code: '110106', display: 'Export' };

/** How a job ended, as AuditEvent.outcome: success, or a serious failure (cancelled, failed, refused). */
export type ExportOutcome = { ok: true } | { ok: false; reason: string; serious?: boolean };

function agentsOf(requester: ExportJob['requester']): AuditEventAgent[] {
  const who = requester.actor ? (RELATIVE_REFERENCE.test(requester.actor) ? { reference: requester.actor } : { display: requester.actor }) : requester.clientId ? { display: requester.clientId } : undefined;
  const purposes = requester.purposeOfUse.map((code) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code }] }));
  return [
    {
      type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
      requestor: true,
      ...(who ? { who } : {}),
      ...(requester.subject ? { altId: requester.subject } : {}),
      ...((requester.roles ?? []).length > 0 ? { role: (requester.roles ?? []).map((r) => ({ coding: [{ system: 'https://fhirgate.dev/fhir/CodeSystem/role', code: r }] })) } : {}),
      ...(purposes.length > 0 ? { purposeOfUse: purposes } : {}),
      ...(requester.source ? { network: { address: requester.source, type: '2' as const } } : {}),
    },
    ...(requester.clientId ? [applicationAgent(requester.clientId, false)] : []),
  ];
}

function draft(job: Pick<ExportJob, 'id' | 'requester' | 'level' | 'groupId' | 'types' | 'since'>, outcome: ExportOutcome, entities: AuditEventEntity[]): AuditEventDraft {
  const what = `${job.level}-level $export of ${job.types.join(',')}${job.since ? ` since ${job.since}` : ''}`;
  return {
    resourceType: 'AuditEvent',
    type: EXPORT,
    subtype: [OPERATION],
    action: 'R',
    outcome: outcome.ok ? '0' : outcome.serious ? '8' : '4',
    ...(outcome.ok ? {} : { outcomeDesc: outcome.reason }),
    agent: agentsOf(job.requester),
    entity: [
      { what: { identifier: { system: EXPORT_JOB_SYSTEM, value: job.id } }, description: what.slice(0, 1000) },
      ...(job.groupId ? [{ what: { reference: `Group/${job.groupId}` } }] : []),
      ...entities,
    ],
  };
}

/**
 * The AuditEvent of one export job, after DICOM (110106 Export) and BALP: who exported, which
 * types, the job id, the Group, how it ended, and the Consents that withheld something.
 */
export function exportEventOf(job: Pick<ExportJob, 'id' | 'requester' | 'level' | 'groupId' | 'types' | 'since'>, outcome: ExportOutcome, consents: readonly string[] = []): AuditEventDraft {
  const noted = consents.map((c): AuditEventEntity => ({ what: { reference: c }, description: 'Consent that decided' }));
  const request = job.requester.requestId ? [{ what: { identifier: { value: job.requester.requestId } }, description: 'X-Request-Id' }] : [];
  return draft(job, outcome, [...noted, ...request]);
}

/**
 * The AuditEvent naming one patient whose data an export held, so `AuditEvent?patient=` answers
 * "who exported my record" as it answers "who read it" (README "The audit trail").
 */
export function patientExportEventOf(job: Pick<ExportJob, 'id' | 'requester' | 'level' | 'groupId' | 'types' | 'since'>, patient: string): AuditEventDraft {
  return draft(job, { ok: true }, [
patientEntity(`Patient/${patient}`)]);
}
