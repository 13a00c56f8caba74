import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { linkOf } from '../../src/audit/chain.js';
import { startServer, type TestServer } from '../support/server.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { bundleOf, countOf, failedEntry, medicationRequest, patient, post } from './support.js';

let server: TestServer;
let fhir: FhirClient;

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

const uuid = (n: number): string => `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('transaction: identities and references', () => {
  it('rewrites urn:uuid and urn:oid references across entries, in any direction, and answers each entry', async () => {
    const p = uuid(1);
    const oid = 'urn:oid:1.2.3.4.5';
    const practitioner = { resourceType: 'Practitioner', name: [{ family: 'Oid' }] };
    const withNarrative = {
      ...patient('urn:t1', 'a'),
      text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><a href="${oid}">GP</a></div>` },
      generalPractitioner: [{ reference: oid }],
    };
    const res = await fhir.post('', bundleOf('transaction', [
      post(medicationRequest(p), uuid(2)), // refers to an entry that comes later
      post(withNarrative as any, p),
      post(practitioner as any, oid),
    ]));
    expect(res.status).toBe(200);
    const body = res.body as Bundle;
    expect(body.type).toBe('transaction-response');
    expect(body.entry).toHaveLength(3);
    for (const entry of body.entry!) {
      expect(entry.response!.status).toBe('201 Created');
      expect(entry.response!.location).toMatch(/^[A-Za-z]+\/[0-9a-f-]{36}\/_history\/1$/);
      expect(entry.response!.etag).toBe('W/"1"');
      expect(Date.parse(entry.response!.lastModified!)).toBeGreaterThan(0);
    }
    const [mr, pat, prac] = body.entry!.map((e) => e.resource as any);
    expect(mr.subject.reference).toBe(`Patient/${pat.id}`);
    expect(pat.generalPractitioner[0].reference).toBe(`Practitioner/${prac.id}`);
    expect(pat.text.div).toContain(`href="Practitioner/${prac.id}"`);
    const stored = await fhir.get(`MedicationRequest/${mr.id}`);
    expect(stored.body.subject.reference).toBe(`Patient/${pat.id}`);
  });

  it('maps absolute fullUrls, and relative references read against the entry base, to the new ids', async () => {
    const res = await fhir.post('', bundleOf('transaction', [
      { fullUrl: 'http://other.example/fhir/Patient/p1', resource: patient('urn:t2', 'a'), request: { method: 'POST', url: 'Patient' } },
      { fullUrl: 'http://other.example/fhir/MedicationRequest/m1', resource: medicationRequest('Patient/p1'), request: { method: 'POST', url: 'MedicationRequest' } },
      post(medicationRequest('http://other.example/fhir/Patient/p1')),
    ]));
    expect(res.status).toBe(200);
    const id = res.body.entry[0].resource.id;
    expect(id).not.toBe('p1');
    expect(res.body.entry[1].resource.subject.reference).toBe(`Patient/${id}`);
    expect(res.body.entry[2].resource.subject.reference).toBe(`Patient/${id}`);
  });

  it('resolves conditional references to exactly one match; none is a 404 and several a 412, nothing stored', async () => {
    await fhir.create(patient('urn:cond', 'one') as Patient);
    await fhir.create(patient('urn:cond', 'two') as Patient);
    await fhir.create(patient('urn:cond', 'two') as Patient);
    const ok = await fhir.post('', bundleOf('transaction', [post(medicationRequest('Patient?identifier=urn:cond|one'))]));
    expect(ok.status).toBe(200);
    expect(ok.body.entry[0].resource.subject.reference).toMatch(/^Patient\/[0-9a-f-]{36}$/);

    const before = await countOf(fhir, 'MedicationRequest');
    const none = await fhir.post('', bundleOf('transaction', [post(medicationRequest('Patient/x')), post(medicationRequest('Patient?identifier=urn:cond|zero'))]));
    expect(none.status).toBe(404);
    expect(none.body.resourceType).toBe('OperationOutcome');
    expect(failedEntry(none.body)).toBe(1);
    const many = await fhir.post('', bundleOf('transaction', [post(medicationRequest('Patient?identifier=urn:cond|two'))]));
    expect(many.status).toBe(412);
    expect(failedEntry(many.body)).toBe(0);
    expect(await countOf(fhir, 'MedicationRequest')).toBe(before);
  });

  it('ifNoneExist: an existing match is answered 200 and references to the entry point at it', async () => {
    const existing = await fhir.create(patient('urn:ine', 'x') as Patient);
    const res = await fhir.post('', bundleOf('transaction', [
      post(patient('urn:ine', 'x'), uuid(10), { ifNoneExist: 'identifier=urn:ine|x' }),
      post(patient('urn:ine', 'y'), uuid(11), { ifNoneExist: 'identifier=urn:ine|y' }),
      post(medicationRequest(uuid(10))),
      post(medicationRequest(uuid(11))),
    ]));
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: any) => e.response.status)).toEqual(['200 OK', '201 Created', '201 Created', '201 Created']);
    expect(res.body.entry[0].resource.id).toBe(existing.id);
    expect(res.body.entry[2].resource.subject.reference).toBe(`Patient/${existing.id}`);
    expect(res.body.entry[3].resource.subject.reference).toBe(`Patient/${res.body.entry[1].resource.id}`);
    expect(await countOf(fhir, 'Patient', 'identifier=urn:ine|x')).toBe(1);
  });

  it('conditional update entries resolve their target, and references to their fullUrl follow', async () => {
    const existing = await fhir.create(patient('urn:cu', 'known') as Patient);
    const res = await fhir.post('', bundleOf('transaction', [
      { fullUrl: uuid(20), resource: { ...patient('urn:cu', 'known'), active: true } as any, request: { method: 'PUT', url: 'Patient?identifier=urn:cu|known' } },
      { fullUrl: uuid(21), resource: patient('urn:cu', 'new'), request: { method: 'PUT', url: 'Patient?identifier=urn:cu|new' } },
      post(medicationRequest(uuid(20))),
      post(medicationRequest(uuid(21))),
    ]));
    expect(res.status).toBe(200);
    expect(res.body.entry[0].response.status).toBe('200 OK');
    expect(res.body.entry[0].resource).toMatchObject({ id: existing.id, active: true, meta: { versionId: '2' } });
    expect(res.body.entry[1].response.status).toBe('201 Created');
    expect(res.body.entry[2].resource.subject.reference).toBe(`Patient/${existing.id}`);
    expect(res.body.entry[3].resource.subject.reference).toBe(`Patient/${res.body.entry[1].resource.id}`);
  });

  it('processes DELETE, POST, PUT/PATCH, then GET, and later entries read earlier writes', async () => {
    await fhir.put('Patient/order-del', { ...patient('urn:o', 'd'), id: 'order-del' });
    const res = await fhir.post('', bundleOf('transaction', [
      { request: { method: 'GET', url: 'Patient/order-put' } },
      { resource: { ...patient('urn:o', 'p'), id: 'order-put' } as any, request: { method: 'PUT', url: 'Patient/order-put' } },
      { request: { method: 'PATCH', url: 'Patient/order-put' }, resource: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.birthDate' }, { name: 'value', valueDate: '1999-09-09' }] }] } as any },
      { request: { method: 'DELETE', url: 'Patient/order-del' } },
      { request: { method: 'GET', url: 'Patient/order-del' } },
    ]));
    // PUT and PATCH of one resource in one transaction overlap: refused, naming the later of them.
    expect(res.status).toBe(400);
    expect(failedEntry(res.body)).toBe(2);

    const ok = await fhir.post('', bundleOf('transaction', [
      { request: { method: 'GET', url: 'Patient/order-put' } },
      { resource: { ...patient('urn:o', 'p'), id: 'order-put' } as any, request: { method: 'PUT', url: 'Patient/order-put' } },
      { request: { method: 'DELETE', url: 'Patient/order-del' } },
    ]));
    expect(ok.status).toBe(200);
    // The GET (first in the bundle) ran last and saw the PUT's version.
    expect(ok.body.entry[0].response.status).toBe('200 OK');
    expect(ok.body.entry[0].resource.meta.versionId).toBe('1');
    expect(ok.body.entry[1].response.status).toBe('201 Created');
    expect(ok.body.entry[2].response).toMatchObject({ status: '200 OK', etag: 'W/"2"' });
    expect((await fhir.get('Patient/order-del')).status).toBe(410);
  });

  it('JSON Patch (as a Binary) and FHIRPath Patch entries', async () => {
    const a = await fhir.create(patient('urn:tp', 'a') as Patient);
    const b = await fhir.create(patient('urn:tp', 'b') as Patient);
    const jsonPatch = Buffer.from(JSON.stringify([{ op: 'replace', path: '/gender', value: 'male' }])).toString('base64');
    const res = await fhir.post('', bundleOf('transaction', [
      { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: jsonPatch } as any, request: { method: 'PATCH', url: `Patient/${a.id}` } },
      { resource: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'add' }, { name: 'path', valueString: 'Patient' }, { name: 'name', valueString: 'active' }, { name: 'value', valueBoolean: false }] }] } as any, request: { method: 'PATCH', url: `Patient?identifier=urn:tp|b` } },
    ]));
    expect(res.status).toBe(200);
    expect(res.body.entry[0].resource.gender).toBe('male');
    expect(res.body.entry[1].resource).toMatchObject({ id: b.id, active: false, meta: { versionId: '2' } });
  });
});

describe('transaction: failures store nothing and name the entry', () => {
  it('an entry failing validation fails the whole transaction with its status and an OperationOutcome', async () => {
    const before = await countOf(fhir, 'Patient');
    const res = await fhir.post('', bundleOf('transaction', [post(patient('urn:f', '1')), post({ resourceType: 'Patient', gender: 'robot' } as any)]));
    expect(res.status).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(failedEntry(res.body)).toBe(1);
    expect(res.body.issue[0].diagnostics).toMatch(/^Bundle\.entry\[1\] \(POST Patient\): /);
    expect(await countOf(fhir, 'Patient')).toBe(before);
  });

  it('If-Match of an entry that does not hold is a 412', async () => {
    const p = await fhir.create(patient('urn:f', 'im') as Patient);
    const res = await fhir.post('', bundleOf('transaction', [{ resource: { ...p, active: true }, request: { method: 'PUT', url: `Patient/${p.id}`, ifMatch: 'W/"7"' } }]));
    expect(res.status).toBe(412);
    expect(errorCode(res.body)).toBe('precondition-failed');
    expect((await fhir.get(`Patient/${p.id}`)).body.meta.versionId).toBe('1');
  });

  it('entries of types this server does not serve fail the transaction with 404 naming the entry', async () => {
    const res = await fhir.post('', bundleOf('transaction', [post(patient('urn:f', 'ut')), { resource: { resourceType: 'Parameters' } as any, request: { method: 'POST', url: 'Parameters' } }]));
    expect(res.status).toBe(404);
    expect(errorCode(res.body)).toBe('unknown-type');
    expect(failedEntry(res.body)).toBe(1);
    expect(await countOf(fhir, 'Patient', 'identifier=urn:f|ut')).toBe(0);
  });

  it('two entries changing one resource, or sharing a fullUrl, or creating on the same criteria, are refused (400)', async () => {
    const twice = await fhir.post('', bundleOf('transaction', [
      { resource: { ...patient('urn:f', 'tw'), id: 'twice' } as any, request: { method: 'PUT', url: 'Patient/twice' } },
      { request: { method: 'DELETE', url: 'Patient/twice' } },
    ]));
    expect(twice.status).toBe(400);
    expect(failedEntry(twice.body)).toBe(1);
    const sameUrl = await fhir.post('', bundleOf('transaction', [post(patient('urn:f', 'u1'), uuid(30)), post(patient('urn:f', 'u2'), uuid(30))]));
    expect(sameUrl.status).toBe(400);
    expect(failedEntry(sameUrl.body)).toBe(1);
    const sameCriteria = await fhir.post('', bundleOf('transaction', [
      post(patient('urn:f', 'sc'), undefined, { ifNoneExist: 'identifier=urn:f|sc' }),
      { resource: patient('urn:f', 'sc'), request: { method: 'PUT', url: 'Patient?identifier=urn:f|sc' } },
    ]));
    expect(sameCriteria.status).toBe(400);
    expect(failedEntry(sameCriteria.body)).toBe(1);
    expect((await fhir.get('Patient/twice')).status).toBe(404);
    expect(await countOf(fhir, 'Patient', 'identifier=urn:f|u1,urn:f|u2,urn:f|sc')).toBe(0);
  });

  it('answers every malformed bundle with an OperationOutcome', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ resourceType: 'Patient' }, 400, 'invalid-structure'],
      [{ resourceType: 'Bundle', type: 'collection', entry: [] }, 400, 'bad-request'],
      [{ resourceType: 'Bundle', type: 'transaction', entry: {} }, 400, 'invalid-structure'],
      [bundleOf('transaction', [{ resource: patient('urn:m', '1') }]), 400, 'bad-request'],
      [bundleOf('transaction', [{ resource: patient('urn:m', '1'), request: { method: 'TRACE' as any, url: 'Patient' } }]), 400, 'bad-request'],
      [bundleOf('transaction', [{ request: { method: 'GET', url: 'https://elsewhere.example/fhir/Patient/1' } }]), 400, 'bad-request'],
      [bundleOf('transaction', [{ request: { method: 'GET', url: 'Patient/a/b/c/d/e' } }]), 501, 'not-supported'],
      [bundleOf('transaction', [{ request: { method: 'POST', url: 'Patient' } }]), 400, 'bad-request'],
      [bundleOf('transaction', [{ request: { method: 'GET', url: 'Patient/missing' } }]), 404, 'not-found'],
      [bundleOf('transaction', [{ request: { method: 'PUT', url: 'Patient?identifier=urn:m|1&_sort=name' }, resource: patient('urn:m', '1') }]), 400, 'bad-request'],
      [bundleOf('transaction', [{ request: { method: 'DELETE', url: 'Patient?nonsense=1' } }]), 400, 'bad-request'],
      [bundleOf('transaction', [{ request: { method: 'PATCH', url: 'Patient/x' }, resource: { resourceType: 'Binary', contentType: 'text/plain', data: 'eA==' } as any }]), 415, 'unsupported-media-type'],
    ];
    for (const [body, status, code] of cases) {
      const res = await fhir.post('', body);
      expect({ status: res.status, code: errorCode(res.body), type: res.body?.resourceType }, JSON.stringify(body).slice(0, 200)).toEqual({ status, code, type: 'OperationOutcome' });
    }
    const invalidJson = await fhir.request('POST', '', { raw: '{"resourceType":', headers: { 'Content-Type': 'application/fhir+json' } });
    expect(invalidJson.status).toBe(400);
    expect(errorCode(invalidJson.body)).toBe('invalid-json');
  });

  it('audits every entry of a rolled-back transaction as failed', async () => {
    const res = await fhir.post('', bundleOf('transaction', [post(patient('urn:audit', 'ok')), post({ resourceType: 'Patient', gender: 'robot' } as any)]));
    expect(res.status).toBe(422);
    const requestId = res.headers.get('x-request-id');
    const audits = (await fhir.get(`AuditEvent?entity:identifier=${requestId}&_count=100`)).body.entry.map((e: any) => e.resource);
    // In the order they were recorded: their place in the hash chain.
    audits.sort((a: any, b: any) => linkOf(a)!.sequence - linkOf(b)!.sequence);
    expect(audits.map((a: any) => [a.subtype[0].code, a.outcome, a.outcomeDesc])).toEqual([
      ['create', '4', 'invalid-resource'],
      ['create', '4', 'invalid-resource'],
      ['transaction', '4', 'invalid-resource'],
    ]);
  });
});

describe('batch', () => {
  it('answers each entry with its own status; unserved types and bad entries fail alone', async () => {
    const res = await fhir.post('', bundleOf('batch', [
      post(patient('urn:b', '1')),
      { resource: { resourceType: 'Parameters' } as any, request: { method: 'POST', url: 'Parameters' } },
      post({ resourceType: 'Patient', gender: 'robot' } as any),
      { request: { method: 'GET', url: 'Patient?identifier=urn:b|1' } },
      { request: { method: 'GET', url: 'Patient/not-there' } },
      { resource: patient('urn:b', '1') },
    ]));
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('batch-response');
    const statuses = res.body.entry.map((e: any) => e.response.status);
    expect(statuses).toEqual(['201 Created', '404 Not Found', '422 Unprocessable Entity', '200 OK', '404 Not Found', '400 Bad Request']);
    expect(res.body.entry[1].response.outcome.resourceType).toBe('OperationOutcome');
    expect(res.body.entry[1].response.outcome.issue[0].expression).toEqual(['Bundle.entry[1]']);
    // The GET ran after the POST (processing order) and found it.
    expect(res.body.entry[3].resource.total).toBe(1);
    expect(await countOf(fhir, 'Patient', 'identifier=urn:b|1')).toBe(1);
  });

  it('is chosen by Bundle.type at POST [base], with or without a trailing slash', async () => {
    const res = await fhir.request('POST', server.fhirUrl, { body: bundleOf('batch', [{ request: { method: 'GET', url: 'metadata' } }]) });
    expect(res.status).toBe(200);
    expect(res.body.entry[0].resource.resourceType).toBe('CapabilityStatement');
  });
});

describe('limits', () => {
  it('refuses bundles over FHIR_MAX_BUNDLE_ENTRIES and bodies over FHIR_MAX_BODY_BYTES before running anything', async () => {
    const small = await startServer({ FHIR_MAX_BUNDLE_ENTRIES: '3', FHIR_MAX_BODY_BYTES: '4096' });
    try {
      const client = fhirClient(small.fhirUrl);
      const four = bundleOf('transaction', [1, 2, 3, 4].map((n) => post(patient('urn:lim', String(n)))));
      const tooMany = await client.post('', four);
      expect(tooMany.status).toBe(413);
      expect(tooMany.body.issue[0].diagnostics).toMatch(/at most 3 \(FHIR_MAX_BUNDLE_ENTRIES\)/);
      const tooBig = await client.post('', bundleOf('batch', [post({ ...patient('urn:lim', 'x'), text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(5000)}</div>` } } as any)]));
      expect(tooBig.status).toBe(413);
      expect(errorCode(tooBig.body)).toBe('payload-too-large');
      expect(await countOf(client, 'Patient')).toBe(0);
    } finally {
      await small.destroy();
    }
  });
});
