/** SMART capabilities of the embedded server (SMART App Launch 2.x, conformance.html#capabilities). */
export const CAPABILITIES = [
  'launch-ehr',
  'launch-standalone',
  'client-public',
  'client-confidential-symmetric',
  'client-confidential-asymmetric',
  'context-ehr-patient',
  'context-standalone-patient',
  // The token response carries need_patient_banner (provider.ts).
  'context-banner',
  'sso-openid-connect',
  'permission-offline',
  // online_access: a refresh token bound to the sign-in session (provider.ts, issueRefreshToken).
  'permission-online',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
] as const;

/**
 * `/.well-known/smart-configuration` of the FHIR base for the embedded server, from its endpoint URLs.
 */
export function embeddedSmartConfiguration(endpoints: { issuer: string; authorization: string; token: string; jwks: string; introspection: string; revocation: string; userinfo: string }, management: string): Record<string, unknown> {
  // management_endpoint: where a user sees and revokes the apps they authorized (conformance.html#metadata), the patient portal.
  return {
    issuer: endpoints.issuer,
    jwks_uri: endpoints.jwks,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    introspection_endpoint: endpoints.introspection,
    revocation_endpoint: endpoints.revocation,
    userinfo_endpoint: endpoints.userinfo,
    management_endpoint: management,
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    response_types_supported: ['code'],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'none'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384', 'RS256', 'ES256'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'fhirUser', 'profile', 'launch', 'launch/patient', 'offline_access', 'online_access', 'patient/*.rs', 'patient/*.cruds', 'patient/*.read', 'user/*.rs', 'user/*.cruds', 'user/*.read', 'system/*.rs', 'system/*.cruds'],
    capabilities: [...CAPABILITIES],
  };
}

/**
 * The SMART configuration for an external OpenID provider, from its OpenID discovery document
 * (`<issuer>/.well-known/openid-configuration`): the endpoints are the provider's.
 */
export function externalSmartConfiguration(discovery: Record<string, unknown>): Record<string, unknown> {
  const keep = ['issuer', 'jwks_uri', 'authorization_endpoint', 'token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'userinfo_endpoint', 'grant_types_supported', 'response_types_supported', 'token_endpoint_auth_methods_supported', 'token_endpoint_auth_signing_alg_values_supported', 'code_challenge_methods_supported', 'scopes_supported'];
  return { ...Object.fromEntries(keep.filter((k) => k in discovery).map((k) => [k, discovery[k]])), capabilities: ['launch-standalone', 'client-public', 'client-confidential-symmetric', 'sso-openid-connect', 'permission-v1', 'permission-v2', 'permission-user', 'permission-patient'] };
}
