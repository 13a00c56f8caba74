import type { CapabilityStatement } from '@medplum/fhirtypes';

/**
 * Adds SMART's security block to the CapabilityStatement (SMART App Launch, conformance.html):
 * the `SMART-on-FHIR` service and the `oauth-uris` extension naming the authorization server's
 * endpoints, taken from the SMART configuration. Without one (no issuer configured), unchanged.
 */
export function withSmartSecurity(statement: CapabilityStatement, smart: Record<string, unknown> | undefined): CapabilityStatement {
  if (!smart || !statement.rest?.length) return statement;
  const uris = [
    ['authorize', smart.authorization_endpoint],
    ['token', smart.token_endpoint],
    ['introspect', smart.introspection_endpoint],
    ['revoke', smart.revocation_endpoint],
    ['manage', smart.management_endpoint],
  ].filter((pair): pair is [string, string] => typeof pair[1] === 'string');
  const [first, ...rest] = statement.rest;
  return {
    ...statement,
    rest: [
      {
        ...first,
        security: {
          cors: true,
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }], text: 'OAuth2 using SMART-on-FHIR profile' }],
          extension: [{ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: uris.map(([url, valueUri]) => ({ url, valueUri })) }],
          description: 'SMART App Launch 2.x and Backend Services: Bearer access tokens (RS256/ES256 JWTs) with SMART v1/v2 scopes; see /.well-known/smart-configuration.',
        },
      },
      ...rest,
    ],
  };
}
