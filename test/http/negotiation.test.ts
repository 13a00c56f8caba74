import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { negotiate, parseAccept } from '../../src/http/media.js';
import { startServer, type TestServer } from '../support/server.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';

// Content negotiation with media-type parameters (http.html#mime, versioning.html#mt-version).
describe('negotiate (pure)', () => {
  const cases: Array<[accept: string, chosen: string | undefined]> = [
    ['application/fhir+json', 'application/fhir+json'],
    ['application/fhir+json; fhirVersion=4.0', 'application/fhir+json'],
    ['application/fhir+json;fhirVersion=4.0.1', 'application/fhir+json'],
    ['application/fhir+json; fhirVersion="4.0"; charset=utf-8', 'application/fhir+json'],
    ['application/fhir+json; charset=UTF-8', 'application/fhir+json'],
    ['application/json; charset=utf-8', 'application/json'],
    ['application/json+fhir', 'application/fhir+json'],
    ['application/fhir+json; fhirVersion=3.0', undefined],
    ['application/fhir+json; fhirVersion=5.0', undefined],
    ['application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=4.0', 'application/fhir+json'],
    ['application/fhir+json; charset=iso-8859-1', undefined],
    ['application/fhir+xml', undefined],
    ['application/fhir+xml, */*;q=0.1', 'application/fhir+json'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'application/fhir+json'],
    ['application/json;q=0.5, application/fhir+json', 'application/fhir+json'],
    ['application/fhir+json;q=0.5, application/json', 'application/json'],
    ['application/*', 'application/fhir+json'],
    ['application/fhir+json;q=0', undefined],
    ['garbage', undefined],
  ];
  it.each(cases)('Accept %j → %j', (accept, chosen) => {
    expect(negotiate(accept)).toBe(chosen);
  });

  it('parseAccept keeps parameters and quality', () => {
    expect(parseAccept('application/fhir+json; fhirVersion=4.0; q=0.7, */*')).toEqual([
      { type: 'application/fhir+json', params: { fhirversion: '4.0' }, q: 0.7 },
      { type: '*/*', params: {}, q: 1 },
    ]);
  });
});

describe('content negotiation over HTTP', () => {
  let server: TestServer;
  let fhir: FhirClient;
  let id: string;
  beforeAll(async () => {
    server = await startServer();
    fhir = fhirClient(server.fhirUrl);
    id = (await fhir.post('Patient', { resourceType: 'Patient', name: [{ family: 'Negotiated' }] })).body.id;
  });
  afterAll(() => server.destroy());

  const served: Array<[accept: string, contentType: string]> = [
    ['application/fhir+json; fhirVersion=4.0', 'application/fhir+json; charset=utf-8'],
    ['application/fhir+json; charset=utf-8', 'application/fhir+json; charset=utf-8'],
    ['application/json; charset=utf-8', 'application/json; charset=utf-8'],
    ['application/json+fhir', 'application/fhir+json; charset=utf-8'],
  ];
  it.each(served)('Accept %j is served as %j', async (accept, contentType) => {
    const res = await fhir.get(`Patient/${id}`, { Accept: accept });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(contentType);
    expect(res.body.name[0].family).toBe('Negotiated');
  });

  it('only an explicit other FHIR version is 406 (Accept and _format)', async () => {
    const r3 = await fhir.get(`Patient/${id}`, { Accept: 'application/fhir+json; fhirVersion=3.0' });
    expect(r3.status).toBe(406);
    expect(errorCode(r3.body)).toBe('not-acceptable');
    expect(r3.body.issue[0].diagnostics).toContain("FHIR version '3.0'");
    const format = await fhir.get(`Patient/${id}?_format=${encodeURIComponent('application/fhir+json; fhirVersion=5.0')}`);
    expect(format.status).toBe(406);
    const ok = await fhir.get(`Patient/${id}?_format=${encodeURIComponent('application/fhir+json; fhirVersion=4.0')}`);
    expect(ok.status).toBe(200);
  });

  it('a body declared with fhirVersion=4.0 is read; another version is 415', async () => {
    const body = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Versioned' }] });
    const ok = await fhir.request('POST', 'Patient', { raw: body, headers: { 'Content-Type': 'application/fhir+json; fhirVersion=4.0; charset=utf-8' } });
    expect(ok.status).toBe(201);
    const other = await fhir.request('POST', 'Patient', { raw: body, headers: { 'Content-Type': 'application/fhir+json; fhirVersion=3.0' } });
    expect(other.status).toBe(415);
    expect(errorCode(other.body)).toBe('unsupported-media-type');
  });
});
