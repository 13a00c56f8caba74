import type { Subscription } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../auth/fixtures.js';
import { aboutActor, privacyConsent } from '../consent/support.js';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { seed } from '../workflow/support.js';
import { restHook, sleep, POLL, useSubscriptionServer } from './support.js';

/**
 * A subscriber learns only what the Subscription's owner may read at delivery time: the owner's
 * scopes and role, and the patients' Consents, as for any request of theirs.
 */
const subs = useSubscriptionServer(async ({ root }) => {
  await seed(root, fixtures.practitioner('d1') as any, fixtures.patient('p1') as any, fixtures.patient('p2') as any, fixtures.patient('p3') as any);
  await seed(root, privacyConsent('p2-deny-d1', 'p2', aboutActor('deny', 'Practitioner/d1')) as any);
});
let d1: FhirClient;

beforeAll(async () => {
  d1 = fhirClient(subs.server.fhirUrl, { token: await subs.server.token({ scope: 'user/*.rs user/Subscription.c', role: 'practitioner', fhirUser: 'Practitioner/d1' }) });
});

const active = async (id: string) => expect.poll(async () => (await subs.root.get<Subscription>(`Subscription/${id}`)).body.status, POLL).toBe('active');
const prescription = (id: string, patient: string) => ({ ...fixtures.medicationRequest(id, patient), medicationCodeableConcept: { text: `secret-${id}` } });

describe('consent and scopes decide what a subscriber learns', () => {
  it("a practitioner is notified of a patient's prescription, never of one the patient's Consent withholds from them", async () => {
    const sub = await d1.create(restHook('MedicationRequest?status=active', `${subs.receiver.url}/d1`, { payload: 'application/fhir+json', content: 'full-resource' }));
    await active(sub.id!);
    await seed(subs.root, prescription('p2-mr', 'p2') as any, prescription('p1-mr', 'p1') as any);
    const [put] = await subs.receiver.waitFor((r) => r.url.startsWith('/d1/'));
    expect(put.url).toBe('/d1/MedicationRequest/p1-mr');
    await sleep(400);
    expect(subs.receiver.at('/d1/').map((r) => r.url)).toEqual(['/d1/MedicationRequest/p1-mr']);
    expect(subs.receiver.received.map((r) => r.body).join()).not.toContain('secret-p2-mr');
  });

  it('the decision is taken at delivery time: a Consent given after the write but before delivery withholds it', async () => {
    subs.receiver.status = 503;
    await seed(subs.root, prescription('p3-mr', 'p3') as any);
    await subs.receiver.waitFor((r) => r.url === '/d1/MedicationRequest/p3-mr');
    await seed(subs.root, privacyConsent('p3-deny-d1', 'p3', aboutActor('deny', 'Practitioner/d1')) as any);
    subs.receiver.status = 200;
    await sleep(800);
    const more = await subs.root.create(prescription('p1-mr2', 'p1'));
    await subs.receiver.waitFor((r) => r.url === `/d1/MedicationRequest/${more.id}` && r.answered === 200);
    // Every attempt about p3 was one the receiver refused (503), before the Consent; none went out after it.
    const attempts = subs.receiver.at('/d1/MedicationRequest/p3-mr');
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    expect(attempts.every((r) => r.answered === 503)).toBe(true);
  });

  it("an owner whose scopes do not cover the criteria's type may not subscribe to it (403)", async () => {
    const narrow = fhirClient(subs.server.fhirUrl, { token: await subs.server.token({ scope: 'user/Patient.rs user/Subscription.c', role: 'practitioner', fhirUser: 'Practitioner/d1' }) });
    const res = await narrow.post('Subscription', restHook('MedicationRequest?status=active', `${subs.receiver.url}/narrow`, { payload: 'application/fhir+json' }));
    expect(res.status).toBe(403);
    expect(res.body.resourceType).toBe('OperationOutcome');
    // The same Subscription on a type the scopes cover is accepted.
    expect((await narrow.post('Subscription', restHook('Patient?family=Narrow', `${subs.receiver.url}/narrow`))).status).toBe(201);
  });

  it('a patient may create a Subscription but not read, change or delete one; a receptionist may not create one', async () => {
    const patient = fhirClient(subs.server.fhirUrl, { token: await subs.server.token({ scope: 'user/*.cruds', role: 'patient', fhirUser: 'Patient/p1' }) });
    const sub = await patient.create(restHook('MedicationRequest?subject=Patient/p1', `${subs.receiver.url}/p1`));
    expect((await patient.get(`Subscription/${sub.id}`)).status).toBe(403);
    expect((await patient.put(`Subscription/${sub.id}`, { ...sub, channel: { ...sub.channel, endpoint: `${subs.receiver.url}/elsewhere` } })).status).toBe(403);
    expect((await patient.delete(`Subscription/${sub.id}`)).status).toBe(403);
    const desk = fhirClient(subs.server.fhirUrl, { token: await subs.server.token({ scope: 'user/*.cruds', role: 'receptionist', fhirUser: 'Practitioner/d1' }) });
    expect((await desk.post('Subscription', restHook('Patient', `${subs.receiver.url}/desk`))).status).toBe(403);
  });
});
