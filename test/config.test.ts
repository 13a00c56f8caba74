import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('defaults to port 8080, the embedded store in ./data and PUBLIC_URL from the port', () => {
    const c = loadConfig({}, '/srv/fhirgate');
    expect(c.port).toBe(8080);
    expect(c.publicUrl).toBe('http://localhost:8080');
    expect(c.fhirBaseUrl).toBe('http://localhost:8080/fhir');
    expect(c.dataDir).toBe('/srv/fhirgate/data');
    expect(c.mongodbUri).toBeUndefined();
    expect(c.logLevel).toBe('info');
    expect(c.auditSink).toBe('store');
    expect(c.hl7.controlIdReuse).toBe('apply');
  });

  it('CORS_ALLOWED_ORIGINS: unset (registered apps), *, or a list of origins; the portal URL follows PUBLIC_URL', () => {
    expect(loadConfig({}, '/srv').auth.corsOrigins).toBeUndefined();
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: '*' }, '/srv').auth.corsOrigins).toBe('*');
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: 'https://a.example, http://localhost:3000' }, '/srv').auth.corsOrigins).toEqual(['https://a.example', 'http://localhost:3000']);
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: 'https://a.example/app' }, '/srv')).toThrow(ConfigError);
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: 'not an origin' }, '/srv')).toThrow(/CORS_ALLOWED_ORIGINS/);
    expect(loadConfig({ PUBLIC_URL: 'https://fhir.example.org/base' }, '/srv').auth.portalUrl).toBe('https://fhir.example.org/base/portal/');
  });

  it('AUDIT_SINK: the hash-chained store by default, log lines when asked, nothing else', () => {
    expect(loadConfig({ AUDIT_SINK: 'log' }, '/x').auditSink).toBe('log');
    expect(loadConfig({ AUDIT_SINK: 'store' }, '/x').auditSink).toBe('store');
    expect(() => loadConfig({ AUDIT_SINK: 'none' }, '/x')).toThrow(/AUDIT_SINK must be store or log/);
  });

  it('reads PORT, PUBLIC_URL (trailing slash dropped), DATA_DIR, MONGODB_URI, LOG_LEVEL', () => {
    const c = loadConfig({ PORT: '9000', PUBLIC_URL: 'https://fhir.example.org/', DATA_DIR: '/var/lib/fg', MONGODB_URI: 'mongodb+srv://u:p@c.example.net/db', LOG_LEVEL: 'debug' }, '/x');
    expect(c.port).toBe(9000);
    expect(c.fhirBaseUrl).toBe('https://fhir.example.org/fhir');
    expect(c.dataDir).toBe('/var/lib/fg');
    expect(c.mongodbUri).toBe('mongodb+srv://u:p@c.example.net/db');
    expect(c.logLevel).toBe('debug');
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ PUBLIC_URL: 'not a url' }, /PUBLIC_URL/],
    [{ PUBLIC_URL: 'ftp://x' }, /PUBLIC_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ MONGODB_URI: 'postgres://x' }, /MONGODB_URI/],
    [{ FHIR_MAX_BODY_BYTES: '-1' }, /FHIR_MAX_BODY_BYTES/],
    [{ HL7_CONTROL_ID_REUSE: 'drop' }, /HL7_CONTROL_ID_REUSE must be apply or reject/],
  ])('rejects %o with a clear error', (env, message) => {
    expect(() => loadConfig(env, '/x')).toThrow(ConfigError);
    expect(() => loadConfig(env, '/x')).toThrow(message);
  });
});

describe('loadConfig: MongoDB settings', () => {
  it('defaults to database fhirgate, 10 s timeouts and primary reads', () => {
    expect(loadConfig({}, '/x').mongodb).toEqual({ db: 'fhirgate', connectTimeoutMs: 10_000, serverSelectionTimeoutMs: 10_000, searchReadPreference: 'primary' });
  });

  it('reads MONGODB_DB, the timeouts and the search read preference', () => {
    const env = { MONGODB_DB: 'fhir_prod', MONGODB_CONNECT_TIMEOUT_MS: '2000', MONGODB_SERVER_SELECTION_TIMEOUT_MS: '15000', MONGODB_SEARCH_READ_PREFERENCE: 'secondaryPreferred' };
    expect(loadConfig(env, '/x').mongodb).toEqual({ db: 'fhir_prod', connectTimeoutMs: 2000, serverSelectionTimeoutMs: 15_000, searchReadPreference: 'secondaryPreferred' });
  });

  it.each([
    [{ MONGODB_DB: 'a/b' }, /MONGODB_DB/],
    [{ MONGODB_DB: 'x'.repeat(64) }, /MONGODB_DB/],
    [{ MONGODB_CONNECT_TIMEOUT_MS: 'soon' }, /MONGODB_CONNECT_TIMEOUT_MS/],
    [{ MONGODB_SERVER_SELECTION_TIMEOUT_MS: '0' }, /MONGODB_SERVER_SELECTION_TIMEOUT_MS/],
    [{ MONGODB_SEARCH_READ_PREFERENCE: 'secondaryOnly' }, /MONGODB_SEARCH_READ_PREFERENCE/],
  ])('rejects %o with a clear error', (env, message) => {
    expect(() => loadConfig(env, '/x')).toThrow(ConfigError);
    expect(() => loadConfig(env, '/x')).toThrow(message);
  });
});
