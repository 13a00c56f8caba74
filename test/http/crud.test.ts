import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Patient, Practitioner } from '@medplum/fhirtypes';
import { startServer, type TestServer } from '../support/server.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { authHeaders } from '../support/tokens.js';

let server: TestServer;
let fhir: FhirClient;

const patient = (family: string): Patient => ({ resourceType: 'Patient', name: [{ family, given: ['Ada'] }], gender: 'female', birthDate: '1970-01-02' });

beforeAll(async () => {
  server = await startServer();
  fhir = fhirClient(server.fhirUrl);
});
afterAll(() => server.destroy());

describe('create', () => {
  it('assigns an id and version, answers 201 with Location, ETag and Last-Modified', async () => {
    const res = await fhir.post('Patient', { ...patient('Lovelace'), id: 'client-chosen' });
    expect(res.status).toBe(201);
    const body = res.body as Patient;
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.id).not.toBe('client-chosen');
    expect(body.meta?.versionId).toBe('1');
    expect(Date.parse(body.meta!.lastUpdated!)).toBeGreaterThan(Date.now() - 60_000);
    expect(res.headers.get('location')).toBe(`${server.fhirUrl}/Patient/${body.id}/_history/1`);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(new Date(res.headers.get('last-modified')!).toISOString().slice(0, 19)).toBe(body.meta!.lastUpdated!.slice(0, 19));
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(body.name).toEqual([{ family: 'Lovelace', given: ['Ada'] }]);
  });

  it('overrides client-supplied meta.versionId and meta.lastUpdated', async () => {
    const res = await fhir.post('Patient', { ...patient('Meta'), meta: { versionId: '99', lastUpdated: '2001-01-01T00:00:00Z', tag: [{ system: 'urn:t', code: 'x' }] } });
    expect(res.status).toBe(201);
    expect(res.body.meta.versionId).toBe('1');
    expect(res.body.meta.lastUpdated).not.toBe('2001-01-01T00:00:00Z');
    expect(res.body.meta.tag).toEqual([{ system: 'urn:t', code: 'x' }]);
  });

  it('honours Prefer: return=minimal and return=OperationOutcome', async () => {
    const minimal = await fhir.post('Patient', patient('Minimal'), { Prefer: 'return=minimal' });
    expect(minimal.status).toBe(201);
    expect(minimal.text).toBe('');
    expect(minimal.headers.get('location')).toMatch(/\/Patient\/[^/]+\/_history\/1$/);
    const oo = await fhir.post('Patient', patient('Outcome'), { Prefer: 'return=OperationOutcome' });
    expect(oo.status).toBe(201);
    expect(oo.body.resourceType).toBe('OperationOutcome');
    expect(oo.body.issue[0].severity).toBe('information');
  });
});

describe('read and vread', () => {
  it('reads the current version with ETag and Last-Modified', async () => {
    const created = await fhir.create(patient('Reader'));
    const res = await fhir.get(`Patient/${created.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.headers.get('last-modified')).toBeTruthy();
  });

  it('answers 404 with an OperationOutcome for an unknown id', async () => {
    const res = await fhir.get('Patient/does-not-exist');
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(errorCode(res.body)).toBe('not-found');
  });

  it('conditional read: If-None-Match and If-Modified-Since give 304', async () => {
    const created = await fhir.create(patient('Conditional'));
    const same = await fhir.get(`Patient/${created.id}`, { 'If-None-Match': 'W/"1"' });
    expect(same.status).toBe(304);
    expect(same.text).toBe('');
    const other = await fhir.get(`Patient/${created.id}`, { 'If-None-Match': 'W/"7"' });
    expect(other.status).toBe(200);
    const later = new Date(Date.now() + 60_000).toUTCString();
    expect((await fhir.get(`Patient/${created.id}`, { 'If-Modified-Since': later })).status).toBe(304);
    const earlier = new Date(Date.now() - 3_600_000).toUTCString();
    expect((await fhir.get(`Patient/${created.id}`, { 'If-Modified-Since': earlier })).status).toBe(200);
  });

  it('vreads every version, 404 for a version that never existed', async () => {
    const created = await fhir.create(patient('Versions'));
    await fhir.put(`Patient/${created.id}`, { ...created, gender: 'other' });
    const v1 = await fhir.get(`Patient/${created.id}/_history/1`);
    const v2 = await fhir.get(`Patient/${created.id}/_history/2`);
    expect(v1.status).toBe(200);
    expect(v1.body.gender).toBe('female');
    expect(v1.headers.get('etag')).toBe('W/"1"');
    expect(v2.body.gender).toBe('other');
    expect(v2.body.meta.versionId).toBe('2');
    expect((await fhir.get(`Patient/${created.id}/_history/3`)).status).toBe(404);
    expect((await fhir.get(`Patient/${created.id}/_history/0`)).status).toBe(404);
  });

  it('supports HEAD on read', async () => {
    const created = await fhir.create(patient('Head'));
    const res = await fhir.request('HEAD', `Patient/${created.id}`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(res.headers.get('etag')).toBe('W/"1"');
  });
});

describe('update', () => {
  it('creates a new version and answers 200', async () => {
    const created = await fhir.create(patient('Updater'));
    const res = await fhir.put(`Patient/${created.id}`, { ...created, active: true });
    expect(res.status).toBe(200);
    expect(res.body.meta.versionId).toBe('2');
    expect(res.body.active).toBe(true);
    expect(res.headers.get('etag')).toBe('W/"2"');
    expect(Date.parse(res.body.meta.lastUpdated)).toBeGreaterThan(Date.parse(created.meta!.lastUpdated!));
  });

  it('creates on update with a client id (201 and Location)', async () => {
    const res = await fhir.put('Patient/mrn-00042', { ...patient('ClientId'), id: 'mrn-00042' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${server.fhirUrl}/Patient/mrn-00042/_history/1`);
    expect((await fhir.get('Patient/mrn-00042')).body.name[0].family).toBe('ClientId');
  });

  it('If-Match: matching version updates, stale version gives 412 and changes nothing', async () => {
    const created = await fhir.create(patient('IfMatch'));
    const ok = await fhir.put(`Patient/${created.id}`, { ...created, active: true }, { 'If-Match': 'W/"1"' });
    expect(ok.status).toBe(200);
    const stale = await fhir.put(`Patient/${created.id}`, { ...created, active: false }, { 'If-Match': 'W/"1"' });
    expect(stale.status).toBe(412);
    expect(errorCode(stale.body)).toBe('precondition-failed');
    const current = await fhir.get(`Patient/${created.id}`);
    expect(current.body.active).toBe(true);
    expect(current.body.meta.versionId).toBe('2');
  });

  it('honours Prefer: return=minimal', async () => {
    const created = await fhir.create(patient('MinimalUpdate'));
    const res = await fhir.put(`Patient/${created.id}`, created, { Prefer: 'return=minimal' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(res.headers.get('etag')).toBe('W/"2"');
  });
});

describe('delete', () => {
  it('deletes: read gives 410 Gone, history keeps every version', async () => {
    const created = await fhir.create(patient('Deleted'));
    await fhir.put(`Patient/${created.id}`, { ...created, active: true });
    const del = await fhir.delete(`Patient/${created.id}`);
    expect(del.status).toBe(200);
    expect(del.body.resourceType).toBe('OperationOutcome');
    const read = await fhir.get(`Patient/${created.id}`);
    expect(read.status).toBe(410);
    expect(errorCode(read.body)).toBe('gone');
    expect((await fhir.get(`Patient/${created.id}/_history/1`)).status).toBe(200);
    expect((await fhir.get(`Patient/${created.id}/_history/3`)).status).toBe(410);
    const history = await fhir.get<Bundle>(`Patient/${created.id}/_history`);
    expect(history.status).toBe(200);
    expect(history.body.entry!.map((e) => e.request!.method)).toEqual(['DELETE', 'PUT', 'POST']);
    expect(history.body.entry![0].resource).toBeUndefined();
    // Updating a deleted resource brings it back as a new version.
    const back = await fhir.put(`Patient/${created.id}`, created);
    expect(back.status).toBe(201);
    expect(back.body.meta.versionId).toBe('4');
  });

  it('deleting what does not exist succeeds without effect', async () => {
    const res = await fhir.delete('Patient/never-was');
    expect(res.status).toBe(200);
    expect((await fhir.get('Patient/never-was')).status).toBe(404);
  });

  it('If-Match on delete: stale version gives 412 and keeps the resource', async () => {
    const created = await fhir.create(patient('DeleteIfMatch'));
    await fhir.put(`Patient/${created.id}`, created);
    const res = await fhir.delete(`Patient/${created.id}`, { 'If-Match': 'W/"1"' });
    expect(res.status).toBe(412);
    expect((await fhir.get(`Patient/${created.id}`)).status).toBe(200);
    expect((await fhir.delete(`Patient/${created.id}`, { 'If-Match': 'W/"2"' })).status).toBe(200);
  });
});

describe('history', () => {
  it('pages instance history newest first with _count and next/previous links', async () => {
    const created = await fhir.create(patient('Historic'));
    for (let i = 0; i < 4; i++) await fhir.put(`Patient/${created.id}`, { ...created, birthDate: `198${i}-01-01` });
    const first = await fhir.get<Bundle>(`Patient/${created.id}/_history?_count=2`);
    expect(first.body.type).toBe('history');
    expect(first.body.entry!.map((e) => e.resource!.meta!.versionId)).toEqual(['5', '4']);
    expect(first.body.entry![0].response).toMatchObject({ status: '200', etag: 'W/"5"' });
    const link = (b: Bundle, rel: string) => b.link?.find((l) => l.relation === rel)?.url;
    expect(link(first.body, 'self')).toBe(`${server.fhirUrl}/Patient/${created.id}/_history?_count=2`);
    expect(link(first.body, 'previous')).toBeUndefined();
    const second = await fetch(link(first.body, 'next')!, { headers: authHeaders(server.fhirUrl) }).then((r) => r.json() as Promise<Bundle>);
    expect(second.entry!.map((e) => e.resource!.meta!.versionId)).toEqual(['3', '2']);
    const third = await fetch(link(second, 'next')!, { headers: authHeaders(server.fhirUrl) }).then((r) => r.json() as Promise<Bundle>);
    expect(third.entry!.map((e) => e.resource!.meta!.versionId)).toEqual(['1']);
    expect(link(third, 'next')).toBeUndefined();
    const back = await fetch(link(third, 'previous')!, { headers: authHeaders(server.fhirUrl) }).then((r) => r.json() as Promise<Bundle>);
    expect(back.entry!.map((e) => e.resource!.meta!.versionId)).toEqual(['3', '2']);
  });

  it('type history honours _since and pages without gaps or duplicates while others write', async () => {
    const since = new Date().toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await fhir.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: `Doc${i}` }] })).id!);
    let url: string | undefined = `${server.fhirUrl}/Practitioner/_history?_count=3&_since=${since}`;
    const seen: string[] = [];
    let pages = 0;
    while (url) {
      const page: Bundle = await fetch(url, { headers: authHeaders(server.fhirUrl) }).then((r) => r.json() as Promise<Bundle>);
      seen.push(...page.entry!.map((e) => e.resource!.id!));
      // A concurrent writer adds newer versions; keyset paging must not shift the pages.
      await fhir.create({ resourceType: 'Practitioner', name: [{ family: 'Intruder' }] });
      url = page.link?.find((l) => l.relation === 'next')?.url;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('rejects a malformed _since and cursor with 400', async () => {
    expect((await fhir.get('Patient/_history?_since=yesterday')).status).toBe(400);
    expect((await fhir.get('Patient/_history?_cursor=garbage')).status).toBe(400);
    expect((await fhir.get('Patient/_history?_count=-1')).status).toBe(400);
  });

  it('instance history of an unknown resource is 404', async () => {
    expect((await fhir.get('Patient/nobody/_history')).status).toBe(404);
  });
});

describe('formats', () => {
  it('_format=json and Accept application/json are served; XML is 406', async () => {
    const created = await fhir.create(patient('Formats'));
    const json = await fhir.get(`Patient/${created.id}?_format=json`);
    expect(json.status).toBe(200);
    const plain = await fhir.get(`Patient/${created.id}`, { Accept: 'application/json' });
    expect(plain.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const xml = await fhir.get(`Patient/${created.id}?_format=xml`);
    expect(xml.status).toBe(406);
    expect(xml.body.resourceType).toBe('OperationOutcome');
    expect((await fhir.get(`Patient/${created.id}`, { Accept: 'application/fhir+xml' })).status).toBe(406);
  });

  it('_pretty=true indents the JSON', async () => {
    const created = await fhir.create(patient('Pretty'));
    const pretty = await fhir.get(`Patient/${created.id}?_pretty=true`);
    expect(pretty.text).toContain('\n  "resourceType": "Patient"');
    const compact = await fhir.get(`Patient/${created.id}`);
    expect(compact.text).not.toContain('\n');
  });
});
