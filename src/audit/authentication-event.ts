import type { AuditEventAgent } from '@medplum/fhirtypes';
import { applicationAgent, DCM } from './vocabulary.js';
import type { AuditEventDraft } from './audit-sink.js';

/** Codes of `AuditEvent.subtype` naming how someone authenticated: the login step, or the OAuth grant type. */
export const AUTHENTICATION_METHOD = 'https://fhirgate.dev/fhir/CodeSystem/authentication-method';

/** One sign-in, sign-out or token request at the embedded authorization server. */
export interface Authentication {
  /** `password`, `totp`, `totp-enrolment`, or the grant type of a token request (`client_credentials`, `authorization_code`, `refresh_token`). */
  method: string;
  ok: boolean;
  /** Why it failed (`invalid`, `locked`, `invalid_grant`, ...). */
  reason?: string;
  logout?: boolean;
  /** The account: its fhirUser when it has one, else its user name (the name tried, for an unknown one). */
  user?: { id?: string; username?: string; fhirUser?: string };
  clientId?: string;
  /** The caller's network address. */
  address?: string;
}

/**
 * The AuditEvent of an authentication, after IHE BALP / DICOM: type 110114 User Authentication,
 * subtype 110122 Login (110123 Logout) plus the method, outcome 0 or 4, the user (or, for backend
 * services, the client) as requesting agent with their network address, and the client application.
 */
export function authenticationEventOf(auth: Authentication): AuditEventDraft {
  const network = auth.address ? { network: { address: auth.address, type: '2' as const } } : {};
  const user = auth.user;
  const name = user?.username?.slice(0, 64);
  const requestor: AuditEventAgent = user
    ? {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser', display: 'human user' }] },
        requestor: true,
        who: user.fhirUser ? { reference: user.fhirUser, ...(name ? { display: name } : {}) } : { display: name ?? 'unknown' },
        ...(user.id ? { altId: user.id } : {}),
        ...(name ? { name } : {}),
        ...network,
      }
    : applicationAgent(auth.clientId ?? 'unknown', true, network);
  const application: AuditEventAgent[] =
    user && auth.clientId ? [applicationAgent(auth.clientId, false)] : [];
  return {
    resourceType: 'AuditEvent',
    type: { system: DCM, code: '110114', display: 'User Authentication' },
    subtype: [auth.logout ? { system: DCM, code: '110123', display: 'Logout' } : { system: DCM, code: '110122', display: 'Login' }, { system: AUTHENTICATION_METHOD, code: auth.method }],
    action: 'E',
    outcome: auth.ok ? '0' : '4',
    ...(auth.reason ? { outcomeDesc: auth.reason } : {}),
    agent: [requestor, ...application],
  };
}
