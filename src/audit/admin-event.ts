import type { AuditEventAgent } from '@medplum/fhirtypes';
import type { AuditEventDraft } from './audit-sink.js';
import { applicationAgent, DCM } from './vocabulary.js';

/** Codes of `AuditEvent.subtype` naming an administrative action at the embedded authorization server. */
export const ADMIN_ACTION = 'https://fhirgate.dev/fhir/CodeSystem/admin-action';

/** One administrative action: a user or client created, changed or removed (issue 15). */
export interface AdminAction {
  action: 'create-user' | 'remove-user' | 'unlock-user' | 'reset-mfa' | 'register-client' | 'remove-client';
  /** The account or client acted on. */
  target: { kind: 'user' | 'client'; id: string };
  /** Who did it, as their token says. */
  admin: { fhirUser?: string; subject?: string; clientId?: string };
  address?: string;
}

const CRUD: Record<AdminAction['action'], 'C' | 'U' | 'D'> = {
  'create-user': 'C',
  'register-client': 'C',
  'unlock-user': 'U',
  'reset-mfa': 'U',
  'remove-user': 'D',
  'remove-client': 'D',
};

/**
 * The AuditEvent of an administrative action, after DICOM: type 110137 User Security Attributes
 * Changed, the action as subtype, the admin as requesting agent (with the client used), and the
 * account or client as entity, by identifier (`urn:fhirgate:auth:user` / `urn:fhirgate:auth:client`).
 */
export function adminEventOf(event: AdminAction): AuditEventDraft {
  const network = event.address ? { network: { address: event.address, type: '2' as const } } : {};
  const admin: AuditEventAgent = {
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser', display: 'human user' }] },
    requestor: true,
    who: event.admin.fhirUser ? { reference: event.admin.fhirUser } : { display: event.admin.subject ?? 'unknown' },
    ...(event.admin.subject ? { altId: event.admin.subject } : {}),
    ...network,
  };
  return {
    resourceType: 'AuditEvent',
    type: { system: DCM, code: '110137', display: 'User Security Attributes Changed' },
    subtype: [{ system: ADMIN_ACTION, code: event.action }],
    action: CRUD[event.action],
    outcome: '0',
    agent: [admin, ...(event.admin.clientId ? [applicationAgent(event.admin.clientId, false)] : [])],
    entity: [{ what: { identifier: { system: `urn:fhirgate:auth:${event.target.kind}`, value: event.target.id } } }],
  };
}
