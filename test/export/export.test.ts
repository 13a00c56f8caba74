import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient, errorCode } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { CODES, medicationRequest, privacyConsent } from '../consent/support.js';
import { fixtures, seed } from '../auth/fixtures.js';
import { ASYNC, clientWith, download, exportAll, exported, kickOff, poll } from './support.js';

// Bulk Data Access 2.0 $export (https://hl7.org/fhir/uv/bulkdata/export.html) over HTTP, with real
// tokens of the embedded server, on a server where Consents apply to backend services too.
let server: TestServer;
let token: string;
let seededAt: string;

const patient = (id: string, family: string): Resource => ({ resourceType: 'Patient', id, name: [{ family }] });

beforeAll(async () => {
  server = await startServer({ CONSENT_APPLIES_TO_SYSTEM: 'true' });
  const admin = fhirClient(server.fhirUrl);
  await seed(admin, [
    patient('p1', 'Exportable-One'),
    patient('p2', 'Exportable-Two'),
    patient('p3', 'Withheld-Three'),
    fixtures.practitioner('d1'),
    medicationRequest('p1', 'mr1'),
    medicationRequest('p1', 'mr2'),
    medicationRequest('p2', 'mr1'),
    medicationRequest('p3', 'mr1'),
    fixtures.appointment('p1-appt', 'p1'),
    { resourceType: 'Group', id: 'g1', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/p1' } }, { entity: { reference: 'Patient/p3' } }] } as Resource,
    // p3 withholds everything from everyone; p1 withholds only prescriptions of code X (p1-mr2).
    privacyConsent('c3', 'p3', { type: 'deny' }),
    privacyConsent('c1', 'p1', { type: 'permit', provision: [{ type: 'deny', code: [{ coding: [{ system: CODES, code: 'X' }] }] }] }),
  ]);
  seededAt = new Date().toISOString();
  token = await server.token({ scope: 'system/*.rs', clientId: 'nightly-export', subject: 'nightly-export' });
}, 60_000);
afterAll(() => server?.destroy());

describe('$export kick-off', () => {
  it('requires Prefer: respond-async, ndjson and served types', async () => {
    const fhir = clientWith(server.fhirUrl, token);
    const noPrefer = await fhir.get('$export');
    expect(noPrefer.status).toBe(400);
    expect(noPrefer.body.resourceType).toBe('OperationOutcome');
    expect((await fhir.get('$export?_outputFormat=application/fhir+xml', ASYNC)).status).toBe(400);
    expect((await fhir.get('$export?_type=NotAType', ASYNC)).status).toBe(400);
    expect((await fhir.get('$export?_since=yesterday', ASYNC)).status).toBe(400);
    expect((await fhir.get('Patient/$export?_type=Practitioner', ASYNC)).status).toBe(400);
    expect((await fhir.post('$export', { resourceType: 'Patient' }, ASYNC)).status).toBe(400);
    const strict = await fhir.get('$export?_typeFilter=Patient%3Factive%3Dtrue', { ...ASYNC, Prefer: 'respond-async, handling=strict' });
    expect(strict.status).toBe(400);
  });

  it('refuses a token without a granted type, and a type the token does not grant', async () => {
    const none = clientWith(server.fhirUrl, await server.token({ scope: 'system/Practitioner.rs' }));
    expect((await none.get('Patient/$export', ASYNC)).status).toBe(403);
    expect((await none.get('$export?_type=Patient', ASYNC)).status).toBe(403);
    expect(errorCode((await fhirClient(server.fhirUrl, { token: false }).get('$export', ASYNC)).body)).toBe('unauthorized');
  });

  it('is listed in the CapabilityStatement (system, Patient and Group level)', async () => {
    const metadata = (await fhirClient(server.fhirUrl).get('metadata')).body;
    expect(metadata.instantiates).toContain('http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data');
    expect(metadata.rest[0].operation).toContainEqual({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' });
    const byType = (type: string) => metadata.rest[0].resource.find((r: any) => r.type === type).operation;
    expect(byType('Patient')).toContainEqual({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export' });
    expect(byType('Group')).toContainEqual({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export' });
  });

  it('answers 404 for a Group that does not exist', async () => {
    expect((await clientWith(server.fhirUrl, token).get('Group/nope/$export', ASYNC)).status).toBe(404);
  });
});

describe('system-level $export', () => {
  it('exports every granted type as ndjson, without what the Consents withhold', async () => {
    const fhir = clientWith(server.fhirUrl, token);
    const { manifest } = await exportAll(fhir, '$export');
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.request).toBe(`${server.fhirUrl}/$export`);
    expect(Date.parse(manifest.transactionTime)).toBeGreaterThanOrEqual(Date.parse(seededAt));
    const all = await exported(manifest, token);
    expect(all).toEqual(expect.arrayContaining(['Patient/p1', 'Patient/p2', 'Practitioner/d1', 'MedicationRequest/p1-mr1', 'MedicationRequest/p2-mr1', 'Appointment/p1-appt']));
    // p3 withholds everything (also Group/g1, which names them, as a read would); p1 withholds code X.
    expect(all.filter((r) => r.includes('p3') || r === 'Group/g1')).toEqual([]);
    expect(all).not.toContain('MedicationRequest/p1-mr2');
    const patients = await download(manifest.output.find((f) => f.type === 'Patient')!.url, token);
    expect(patients.find((p) => p.id === 'p1')).toMatchObject({ name: [{ family: 'Exportable-One' }] });
  });

  it('filters by _type and _since (GET and POST Parameters alike)', async () => {
    const fhir = clientWith(server.fhirUrl, token);
    const typed = await exportAll(fhir, '$export?_type=Patient,Practitioner');
    expect(typed.manifest.output.map((f) => f.type).sort()).toEqual(['Patient', 'Practitioner']);
    expect(await exported(typed.manifest, token)).toEqual(['Patient/p1', 'Patient/p2', 'Practitioner/d1']);

    const since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await seed(fhirClient(server.fhirUrl), [patient('p2', 'Exportable-Two-Renamed')]);
    const posted = await exportAll(fhir, '$export', {
      resourceType: 'Parameters',
      parameter: [
        { name: '_since', valueInstant: since },
        { name: '_type', valueString: 'Patient' },
        { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
      ],
    });
    expect(await exported(posted.manifest, token)).toEqual(['Patient/p2']);
  });

  it('reports ignored parameters in the error file as OperationOutcomes (lenient handling)', async () => {
    const fhir = clientWith(server.fhirUrl, token);
    const { manifest } = await exportAll(fhir, '$export?_type=Practitioner&_elements=id');
    expect(manifest.error).toHaveLength(1);
    const outcomes = await download(manifest.error[0].url, token);
    expect(outcomes[0]).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'not-supported' }] });
  });
});

describe('patient- and group-level $export', () => {
  it('Patient/$export covers the patients’ compartments only', async () => {
    const { manifest } = await exportAll(clientWith(server.fhirUrl, token), 'Patient/$export');
    const all = await exported(manifest, token);
    expect(all).toEqual(['Appointment/p1-appt', 'MedicationRequest/p1-mr1', 'MedicationRequest/p2-mr1', 'Patient/p1', 'Patient/p2'].concat(all.filter((r) => r.startsWith('Consent/'))).sort());
    expect(all.some((r) => r.startsWith('Practitioner/') || r.startsWith('Group/') || r.startsWith('AuditEvent/'))).toBe(false);
  });

  it('a patient’s own token exports their compartment only (SMART patient/ scopes)', async () => {
    const own = await server.token({ scope: 'patient/*.rs', role: 'patient', fhirUser: 'Patient/p2', patient: 'p2', clientId: 'patient-app', subject: 'p2-user' });
    const { manifest } = await exportAll(clientWith(server.fhirUrl, own), 'Patient/$export');
    expect(await exported(manifest, own)).toEqual(['MedicationRequest/p2-mr1', 'Patient/p2']);
  });

  it('Group/[id]/$export covers the Group’s members, minus what they withhold', async () => {
    const { manifest } = await exportAll(clientWith(server.fhirUrl, token), 'Group/g1/$export?_type=Patient,MedicationRequest,Appointment');
    expect(await exported(manifest, token)).toEqual(['Appointment/p1-appt', 'MedicationRequest/p1-mr1', 'Patient/p1']);
  });
});

describe('$export by a user', () => {
  it('a practitioner exports what they may search, and break-glass (ETREAT) does not lift a Consent in an export', async () => {
    const practitioner = await server.token({ scope: 'user/*.rs', role: 'practitioner', fhirUser: 'Practitioner/d1', clientId: 'ehr', subject: 'd1' });
    const fhir = clientWith(server.fhirUrl, practitioner);
    // The same practitioner reads p3 by breaking the glass...
    expect((await fhir.get('Patient/p3', { 'X-Purpose-Of-Use': 'ETREAT' })).status).toBe(200);
    // ...but an export with that purpose still leaves p3 out.
    const statusUrl = await kickOff(fhir, 'Patient/$export?_type=Patient,MedicationRequest', undefined, { 'X-Purpose-Of-Use': 'ETREAT' });
    const res = await poll(fhir, statusUrl);
    expect(res.status).toBe(200);
    expect(await exported(res.body, practitioner)).toEqual(['MedicationRequest/p1-mr1', 'MedicationRequest/p2-mr1', 'Patient/p1', 'Patient/p2']);
  });
});

describe('job lifecycle', () => {
  it('serves status and files to the requester only, with a token', async () => {
    const { statusUrl, manifest } = await exportAll(clientWith(server.fhirUrl, token), '$export?_type=Patient');
    const other = await server.token({ scope: 'system/*.rs', clientId: 'another-client', subject: 'another-client' });
    expect((await clientWith(server.fhirUrl, other).get(statusUrl)).status).toBe(404);
    expect((await fetch(manifest.output[0].url, { headers: { Authorization: `Bearer ${other}` } })).status).toBe(404);
    expect((await fetch(manifest.output[0].url)).status).toBe(401);
    expect((await fetch(`${server.fhirUrl}/$export-file/${statusUrl.split('/').pop()}/Patient-9.ndjson`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(404);
  });

  it('keeps the files sealed at rest: JWE lines, no clear text', async () => {
    const { statusUrl } = await exportAll(clientWith(server.fhirUrl, token), '$export?_type=Patient');
    const dir = path.join(server.dataDir, 'export', statusUrl.split('/').pop()!);
    const names = await readdir(dir);
    expect(names).toEqual(expect.arrayContaining(['job.jwe', 'Patient-1.ndjson.jwe']));
    for (const name of names) {
      const text = await readFile(path.join(dir, name), 'utf8');
      expect(text).not.toMatch(/Exportable|"resourceType"|nightly-export/);
      for (const line of text.split('\n').filter(Boolean)) expect(line.split('.')).toHaveLength(5);
    }
  });

  it('DELETE cancels a job and removes its files', async () => {
    const fhir = clientWith(server.fhirUrl, token);
    const statusUrl = await kickOff(fhir, '$export');
    const dir = path.join(server.dataDir, 'export', statusUrl.split('/').pop()!);
    const cancelled = await fhir.delete(statusUrl);
    expect(cancelled.status).toBe(202);
    expect((await fhir.get(statusUrl)).status).toBe(404);
    expect((await fhir.delete(statusUrl)).status).toBe(404);
    // A running job stops at its next page and then removes its folder.
    await expect.poll(() => readdir(dir).then(() => 'present', () => 'gone'), { timeout: 10_000 }).toBe('gone');
  });

  it('audits each export once, and once per patient whose data it held', async () => {
    const { statusUrl } = await exportAll(clientWith(server.fhirUrl, token), 'Group/g1/$export?_type=Patient');
    const job = statusUrl.split('/').pop()!;
    const admin = fhirClient(server.fhirUrl);
    const events = (await admin.get('AuditEvent?_count=1000&_sort=-date')).body.entry.map((e: any) => e.resource).filter((e: any) => e.entity?.some((x: any) => x.what?.identifier?.value === job));
    expect(events).toHaveLength(2);
    for (const e of events) expect(e).toMatchObject({ type: { code: '110106' }, outcome: '0', agent: expect.arrayContaining([expect.objectContaining({ requestor: true, altId: 'nightly-export' })]) });
    const patientEvent = events.find((e: any) => e.entity.some((x: any) => x.what?.reference === 'Patient/p1'));
    expect(patientEvent).toBeDefined();
    expect(events.some((e: any) => e.entity.some((x: any) => x.what?.reference === 'Patient/p3'))).toBe(false);
    const aboutP1 = (await admin.get('AuditEvent?patient=Patient/p1&_count=1000')).body.entry.map((e: any) => e.resource.id);
    expect(aboutP1).toContain(patientEvent.id);
  });
});
