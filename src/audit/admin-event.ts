import type { AuditEventEntity, Coding } from '@medplum/fhirtypes';
import type { AuditEventDraft } from './audit-sink.js';
import { requestingAgents, type Caller } from './audit-event.js';
import { DCM, outcomeOf, patientEntity, requestIdEntity, REST_OPERATION } from './vocabulary.js';

/** Codes of `AuditEvent.subtype` naming an action of the admin API of the embedded authorization server. */
export const ADMIN_ACTION = 'https://fhirgate.dev/fhir/CodeSystem/admin-action';

export type AdminActionCode = 'create-user' | 'remove-user' | 'unlock-user' | 'reset-mfa' | 'register-client' | 'remove-client' | 'list-users' | 'list-clients' | 'create-launch';

/** One request to the admin API (issue 15), as its one AuditEvent names it, done or refused (issue 16). */
export interface AdminAction {
  action: AdminActionCode;
  /** The account or client acted on, or the patient of a launch; unknown when refused before it was named. */
  target?: { kind: 'user' | 'client' | 'patient'; id: string };
  /** Who asked, as their verified token says, and from where. */
  caller: Caller;
  requestId?: string;
  /** Why it was not done (`insufficient_scope`, `not_found`, ...); `server`: the server failed. Absent when done. */
  failure?: { code: string; server?: boolean };
}

const CHANGED: Coding = { system: DCM, code: '110137', display: 'User Security Attributes Changed' };
const interaction = (code: string): Coding => ({ system: 'http://hl7.org/fhir/restful-interaction', code });

/**
 * What each action is, after DICOM and BALP: a change of an account or client is DCM 110137 User
 * Security Attributes Changed; reading the lists is a `rest` search; starting an EHR launch for a
 * patient is a `rest` create (of the launch context).
 */
const ACTIONS: Record<AdminActionCode, { crud: 'C' | 'R' | 'U' | 'D' | 'E'; type: Coding; subtype?: Coding }> = {
  'create-user': { crud: 'C', type: CHANGED },
  'register-client': { crud: 'C', type: CHANGED },
  'unlock-user': { crud: 'U', type: CHANGED },
  'reset-mfa': { crud: 'U', type: CHANGED },
  'remove-user': { crud: 'D', type: CHANGED },
  'remove-client': { crud: 'D', type: CHANGED },
  'list-users': { crud: 'E', type: REST_OPERATION, subtype: interaction('search') },
  'list-clients': { crud: 'E', type: REST_OPERATION, subtype: interaction('search') },
  'create-launch': { crud: 'C', type: REST_OPERATION, subtype: interaction('create') },
};

function targetEntity(target: NonNullable<AdminAction['target']>): AuditEventEntity {
  if (target.kind === 'patient') return patientEntity(`Patient/${target.id}`);
  return { what: { identifier: { system: `urn:fhirgate:auth:${target.kind}`, value: target.id } } };
}

/**
 * The AuditEvent of a request to the admin API: the type of its action (`ACTIONS`), the action as
 * subtype, the outcome (`4` with the OAuth error code for a refusal such as a token without the
 * admin role), the caller as requesting agent (fhirUser, subject, roles, address) with their
 * client, and as entities the account or client by identifier (`urn:fhirgate:auth:user`,
 * `urn:fhirgate:auth:client`) or the launch's patient, and the request id.
 */
export function adminEventOf(event: AdminAction): AuditEventDraft {
  const kind = ACTIONS[event.action];
  const entity = [...(event.target ? [targetEntity(event.target)] : []), ...(event.requestId ? [requestIdEntity(event.requestId)] : [])];
  return {
    resourceType: 'AuditEvent',
    type: kind.type,
    subtype: [...(kind.subtype ? [kind.subtype] : []), { system: ADMIN_ACTION, code: event.action }],
    action: kind.crud,
    ...outcomeOf(event.failure),
    agent: requestingAgents(event.caller),
    ...(entity.length > 0 ? { entity } : {}),
  };
}
