import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Consent } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentAuthorityMarkdown } from '../../src/consent/authority.js';
import { fixtures, seed } from '../auth/fixtures.js';
import { errorCode, fhirClient, type FhirClient } from '../support/fhir-client.js';
import { ROOT_DIR, startServer, type TestServer } from '../support/server.js';
import { aboutActor, ids, privacyConsent } from './support.js';

/**
 * Who may write a Consent (issue 15, item 1): the patient decides; a practitioner only asks
 * (`proposed`, naming themselves) and withdraws; admins, receptionists and pharmacists have no say.
 */
let server: TestServer;
let d1: FhirClient;
let p1: FhirClient;
const practitioner = (id: string, role: string | string[] = 'practitioner') => ({ scope: 'user/*.cruds', role, fhirUser: `Practitioner/${id}` });

beforeAll(async () => {
  server = await startServer({ AUDIT_SINK: 'log' });
  const root = fhirClient(server.fhirUrl);
  await seed(root, [fixtures.patient('p1'), fixtures.patient('p2'), fixtures.practitioner('d1'), fixtures.practitioner('d2')]);
  // p1 withholds their record from d2; d1 is not named.
  await seed(root, [privacyConsent('p1-deny-d2', 'p1', aboutActor('deny', 'Practitioner/d2'))]);
  d1 = fhirClient(server.fhirUrl, { token: await server.token(practitioner('d1')) });
  p1 = fhirClient(server.fhirUrl, { token: await server.token({ scope: 'user/*.cruds', role: 'patient', fhirUser: 'Patient/p1' }) });
});
afterAll(() => server.destroy());

const forbidden = (res: { status: number; body: unknown }) => expect([res.status, errorCode(res.body)]).toEqual([403, 'forbidden']);

describe('a practitioner cannot decide a patient’s Consents', () => {
  it('cannot lift the patient’s deny, grant themselves or a colleague, or deny a colleague', async () => {
    const deny = (await fhirClient(server.fhirUrl).get<Consent>('Consent/p1-deny-d2')).body;
    forbidden(await d1.put('Consent/p1-deny-d2', { ...deny, status: 'inactive' }));
    forbidden(await d1.delete('Consent/p1-deny-d2'));
    forbidden(await d1.put('Consent/grant-self', privacyConsent('grant-self', 'p1', aboutActor('permit', 'Practitioner/d1'))));
    forbidden(await d1.post('Consent', privacyConsent('x', 'p1', aboutActor('permit', 'Practitioner/d2'))));
    forbidden(await d1.post('Consent', privacyConsent('x', 'p2', aboutActor('deny', 'Practitioner/d2'))));
    // A request must name only the requester: asking on a colleague's behalf, or for a deny of them, is refused.
    forbidden(await d1.post('Consent', privacyConsent('x', 'p2', aboutActor('permit', 'Practitioner/d2'), 'proposed')));
    forbidden(await d1.request('PUT', 'Consent?patient=Patient/p1', { body: privacyConsent('x', 'p1', aboutActor('permit', 'Practitioner/d1'), 'proposed') }));
    // Nothing changed.
    expect((await fhirClient(server.fhirUrl).get<Consent>('Consent/p1-deny-d2')).body.status).toBe('active');
    expect((await d1.get<Bundle>('Consent?_count=100')).body.total).toBe(0);
  });

  it('requests access (proposed, naming themselves), reads only their own requests, and withdraws them', async () => {
    const request = privacyConsent('p1-request-d1', 'p1', aboutActor('permit', 'Practitioner/d1'), 'proposed');
    expect((await d1.put('Consent/p1-request-d1', request)).status).toBe(201);
    expect((await d1.get<Consent>('Consent/p1-request-d1')).body.status).toBe('proposed');
    // The patient's other Consents are not the practitioner's business.
    expect((await d1.get('Consent/p1-deny-d2')).status).toBe(404);
    expect(ids((await d1.get<Bundle>('Consent')).body)).toEqual(['Consent/p1-request-d1']);
    // The practitioner cannot approve their own request, nor patch it.
    forbidden(await d1.put('Consent/p1-request-d1', { ...request, status: 'active' }));
    forbidden(await d1.request('PATCH', 'Consent/p1-request-d1', { raw: JSON.stringify([{ op: 'replace', path: '/status', value: 'active' }]), headers: { 'Content-Type': 'application/json-patch+json' } }));
    // The patient decides; afterwards the practitioner sees the answer but can no longer change it.
    expect((await p1.put('Consent/p1-request-d1', { ...request, status: 'active' })).status).toBe(200);
    expect((await d1.get<Consent>('Consent/p1-request-d1')).body.status).toBe('active');
    forbidden(await d1.put('Consent/p1-request-d1', { ...request, status: 'proposed' }));
    forbidden(await d1.delete('Consent/p1-request-d1'));
    // A fresh request can be withdrawn while it is still a request.
    const second = privacyConsent('p2-request-d1', 'p2', aboutActor('permit', 'Practitioner/d1'), 'proposed');
    expect((await d1.put('Consent/p2-request-d1', second)).status).toBe(201);
    expect((await d1.delete('Consent/p2-request-d1')).status).toBe(200);
  });
});

describe('other roles', () => {
  it('an admin, a receptionist, a pharmacist, or an admin who is also a practitioner cannot write active Consents', async () => {
    const consent = privacyConsent('by-staff', 'p2', aboutActor('permit', 'Practitioner/d2'));
    for (const role of ['admin', 'receptionist', 'pharmacist', ['admin', 'practitioner']]) {
      const staff = fhirClient(server.fhirUrl, { token: await server.token(practitioner('d2', role)) });
      forbidden(await staff.put('Consent/by-staff', consent));
    }
  });

  it('the patient writes any status of their own Consents, never another patient’s', async () => {
    const own = privacyConsent('p1-own', 'p1', aboutActor('deny', 'Practitioner/d1'));
    expect((await p1.put('Consent/p1-own', own)).status).toBe(201);
    expect((await p1.put('Consent/p1-own', { ...own, status: 'inactive' })).status).toBe(200);
    expect((await p1.put('Consent/p2-own', privacyConsent('p2-own', 'p2', aboutActor('deny', 'Practitioner/d1')))).status).toBe(403);
  });

  it('backend services (no role) are the deployment’s own systems and may import Consents', async () => {
    expect((await fhirClient(server.fhirUrl).put('Consent/imported', privacyConsent('imported', 'p2', aboutActor('permit', 'Practitioner/d2')))).status).toBe(201);
  });

  it('the README states the rule as generated from src/consent/authority.ts', () => {
    expect(readFileSync(path.join(ROOT_DIR, 'README.md'), 'utf8')).toContain(consentAuthorityMarkdown());
  });
});
