import { describe, expect, it } from 'vitest';
import { parseScope, parseScopes } from '../../src/auth/scopes.js';
import { loadConfig } from '../../src/config.js';

describe('parseScope (SMART v1 and v2)', () => {
  it.each([
    ['patient/*.read', 'patient', '*', 'rs', undefined],
    ['user/MedicationRequest.write', 'user', 'MedicationRequest', 'cud', undefined],
    ['system/*.*', 'system', '*', 'cruds', undefined],
    ['patient/Patient.rs', 'patient', 'Patient', 'rs', undefined],
    ['user/Appointment.cruds', 'user', 'Appointment', 'cruds', undefined],
    ['system/Consent.c', 'system', 'Consent', 'c', undefined],
    ['patient/MedicationRequest.rs?status=active', 'patient', 'MedicationRequest', 'rs', { status: ['active'] }],
    ['patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory&status=final', 'patient', 'Observation', 'rs', { category: ['http://terminology.hl7.org/CodeSystem/observation-category|laboratory'], status: ['final'] }],
  ])('%s', (scope, level, resourceType, letters, query) => {
    const parsed = parseScope(scope)!;
    expect(parsed.level).toBe(level);
    expect(parsed.resourceType).toBe(resourceType);
    expect([...parsed.permissions].sort().join('')).toBe([...letters].sort().join(''));
    expect(parsed.query).toEqual(query);
  });

  it.each(['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'patient/*.sr', 'patient/*.x', 'patient/*.', 'clinician/*.read', 'patient/lowercase.read', 'patient/*.read?status=active', 'patient/*.rs?', ''])(
    '%s is not a clinical scope',
    (scope) => expect(parseScope(scope)).toBeUndefined(),
  );
});

describe('auth configuration', () => {
  it('runs the embedded server at PUBLIC_URL/auth by default, with its data in DATA_DIR/auth', () => {
    const c = loadConfig({ PUBLIC_URL: 'https://fhir.example.org', DATA_DIR: '/var/lib/fg' }, '/x');
    expect(c.auth).toMatchObject({ embedded: true, embeddedIssuer: 'https://fhir.example.org/auth', dir: '/var/lib/fg/auth', roleClaim: 'role', clockSkewSeconds: 30 });
    expect(c.auth.external).toBeUndefined();
  });

  it('trusts an external issuer instead, or beside it', () => {
    const external = { AUTH_ISSUER: 'https://kc.example.org/realms/h', AUTH_JWKS_URL: 'https://kc.example.org/certs', AUTH_ROLE_CLAIM: 'realm_access.roles' };
    expect(loadConfig(external, '/x').auth).toMatchObject({ embedded: false, external: { issuer: external.AUTH_ISSUER, jwksUrl: external.AUTH_JWKS_URL }, roleClaim: 'realm_access.roles' });
    expect(loadConfig({ ...external, AUTH_EMBEDDED: 'true' }, '/x').auth.embedded).toBe(true);
  });

  it.each([
    [{ AUTH_ISSUER: 'https://kc.example.org' }, /AUTH_ISSUER and AUTH_JWKS_URL/],
    [{ AUTH_ISSUER: 'not a url', AUTH_JWKS_URL: 'https://x' }, /AUTH_ISSUER/],
    [{ AUTH_EMBEDDED: 'false' }, /AUTH_EMBEDDED=false/],
    [{ AUTH_EMBEDDED: 'maybe' }, /AUTH_EMBEDDED/],
    [{ AUTH_CLOCK_SKEW_SECONDS: '9999' }, /AUTH_CLOCK_SKEW_SECONDS/],
  ])('rejects %o', (env, message) => {
    expect(() => loadConfig(env, '/x')).toThrow(message);
  });
});

describe('parseScopes of a verified token’s (frozen) scope list', () => {
  it('is parsed once and shared: the same frozen result each time', () => {
    const scopes = Object.freeze(['openid', 'system/Patient.rs', 'patient/Observation.read']);
    const first = parseScopes(scopes);
    expect(first.map((s) => s.scope)).toEqual(['system/Patient.rs', 'patient/Observation.read']);
    expect(parseScopes(scopes)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('a list that may still change is parsed each time', () => {
    const scopes = ['system/Patient.rs'];
    expect(parseScopes(scopes).map((s) => s.scope)).toEqual(['system/Patient.rs']);
    scopes.push('system/Observation.rs');
    expect(parseScopes(scopes).map((s) => s.scope)).toEqual(['system/Patient.rs', 'system/Observation.rs']);
  });
});
