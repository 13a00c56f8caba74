import type { ClientRegistration } from '../auth/server/clients.js';

/** The patient portal's client id at the embedded authorization server (fixed, so the static app can name it). */
export const PORTAL_CLIENT_ID = 'fhirgate-portal';

/**
 * The portal is a SMART public client like any other (issue 21): authorization code with PKCE, its
 * own record as launch patient, a refresh token for as long as the sign-in lasts (online_access),
 * reading the record and the access log and managing Consents through the FHIR API.
 */
export function portalRegistration(portalUrl: string): ClientRegistration {
  return {
    name: 'FhirGate patient portal',
    kind: 'public',
    redirectUris: [portalUrl],
    scope: 'openid fhirUser launch/patient online_access patient/*.rs patient/Consent.cruds',
  };
}

/** What the static app reads at start (`/portal/config.json`): no secrets, only where to sign in. */
export function portalConfig(options: { fhirBaseUrl: string; portalUrl: string }): Record<string, string> {
  return { clientId: PORTAL_CLIENT_ID, fhirBaseUrl: options.fhirBaseUrl, redirectUri: options.portalUrl };
}
