import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Router from '@koa/router';
import { atItsPaths, routePath } from '../../src/http/edge-paths.js';
import { startServer, type TestServer } from '../support/server.js';

// The doors ahead of the FHIR API (health, metrics) are entered only at their own paths (issue 14),
// matched as @koa/router matches a static route: case-insensitive, one trailing slash optional.
describe('routePath', () => {
  const cases: Array<[string, string]> = [
    ['/healthz', '/healthz'],
    ['/HEALTHZ', '/healthz'],
    ['/healthz/', '/healthz'],
    ['/healthz//', '/healthz/'],
    ['/', '/'],
    ['/fhir/Patient/1', '/fhir/patient/1'],
  ];
  it.each(cases)('%s → %s', (path, expected) => {
    expect(routePath(path)).toBe(expected);
  });
});

describe('atItsPaths', () => {
  it('takes its paths from the router and refuses one it could not match statically', () => {
    const parametered = new Router();
    parametered.get('/things/:id', (ctx) => {
      ctx.body = ctx.params.id;
    });
    expect(() => atItsPaths(parametered)).toThrow(/static paths only/);
  });
});

describe('the doors ahead of the FHIR API, through HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.destroy());

  it.each(['/healthz', '/HEALTHZ', '/healthz/', '/readyz', '/ReadyZ/'])('GET %s answers 200', async (path) => {
    const res = await fetch(`${server.origin}${path}`);
    expect(res.status).toBe(200);
    expect((await res.json()).status).toMatch(/ok|ready/);
  });

  it.each([
    ['GET', '/healthz//'],
    ['POST', '/healthz'],
  ])('%s %s is no route: 404 OperationOutcome', async (method, path) => {
    const res = await fetch(`${server.origin}${path}`, { method });
    expect(res.status).toBe(404);
    expect((await res.json()).resourceType).toBe('OperationOutcome');
  });

  it('/metrics still asks for a token; a FHIR read passes every door', async () => {
    expect((await fetch(`${server.origin}/metrics`)).status).toBe(401);
    const res = await fetch(`${server.fhirUrl}/Patient/nobody`, { headers: { Authorization: `Bearer ${await server.token()}` } });
    expect(res.status).toBe(404);
    expect((await res.json()).issue[0].code).toBe('not-found');
  });
});
