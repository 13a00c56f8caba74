import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi } from '../auth/support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';

// CORS on the FHIR API (Fetch standard): registered apps' origins by default, or CORS_ALLOWED_ORIGINS.
const APP = 'https://chart.example.org';
const preflight = (server: TestServer, path: string, origin: string) =>
  fetch(`${server.fhirUrl}${path}`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'authorization, content-type, if-match' } });

describe('CORS, default: the origins of registered apps', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
    await adminApi(server, 'POST', '/admin/clients', { name: 'Chart', kind: 'public', redirectUris: [`${APP}/callback`], scope: 'openid patient/*.rs' });
  });
  afterAll(() => server.destroy());

  it('answers a preflight from a registered app before authentication, allowing FHIR headers', async () => {
    const res = await preflight(server, '/Patient/p1', APP);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-methods')).toContain('PUT');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('if-match');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it('exposes ETag and Location on actual responses, errors included', async () => {
    const res = await fetch(`${server.fhirUrl}/Patient/p1`, { headers: { Origin: APP } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-expose-headers')).toMatch(/ETag.*Location.*Content-Location/);
  });

  it('gives other origins no CORS headers, except on discovery', async () => {
    const res = await preflight(server, '/Patient/p1', 'https://evil.example');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const metadata = await fetch(`${server.fhirUrl}/metadata`, { headers: { Origin: 'https://evil.example' } });
    expect(metadata.headers.get('access-control-allow-origin')).toBe('https://evil.example');
    const security = (await metadata.json()).rest[0].security;
    expect(security.cors).toBe(true);
    // SMART's manage URI is the patient portal, not an admin API.
    const uris = security.extension[0].extension as Array<{ url: string; valueUri: string }>;
    expect(uris.find((u) => u.url === 'manage')?.valueUri).toBe(`${server.origin}/portal/`);
  });

  it('a request without Origin gets Vary: Origin and no CORS headers', async () => {
    const res = await fetch(`${server.fhirUrl}/Patient/p1`, { headers: { Authorization: `Bearer ${await server.token()}` } });
    expect(res.status).toBe(404);
    expect(res.headers.get('vary')).toContain('Origin');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-expose-headers')).toBeNull();
  });

  it('the token endpoint allows a public app’s own origin only', async () => {
    const ok = await fetch(`${server.origin}/auth/token`, { method: 'OPTIONS', headers: { Origin: APP, 'Access-Control-Request-Method': 'POST' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
  });
});

describe('CORS_ALLOWED_ORIGINS', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ CORS_ALLOWED_ORIGINS: 'https://portal.example.org' });
  });
  afterAll(() => server.destroy());

  it('replaces the default list', async () => {
    expect((await preflight(server, '/Patient', 'https://portal.example.org')).headers.get('access-control-allow-origin')).toBe('https://portal.example.org');
    expect((await preflight(server, '/Patient', APP)).headers.get('access-control-allow-origin')).toBeNull();
  });
});
