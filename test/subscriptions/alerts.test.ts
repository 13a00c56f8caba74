import type { AuditEvent, Consent, Subscription } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { BREAK_GLASS_EXTENSION } from '../../src/audit/audit-event.js';
import { fixtures } from '../auth/fixtures.js';
import { aboutActor, privacyConsent } from '../consent/support.js';
import { fhirClient } from '../support/fhir-client.js';
import { dispense, prescription, seed } from '../workflow/support.js';
import { focusOf, restHook, sleep, POLL, useSubscriptionServer } from './support.js';

/**
 * The alerts users asked for (issue 18), each a Subscription its user creates with their own token:
 * a patient told of an access request or a break-glass access to their record, a prescriber told
 * of a dispense against their prescription.
 */
const subs = useSubscriptionServer(({ root }) => seed(root, fixtures.practitioner('d1') as any, fixtures.practitioner('d2') as any, fixtures.patient('k') as any, fixtures.patient('j') as any));

const user = async (role: string, fhirUser: string, scope = 'user/*.cruds') => fhirClient(subs.server.fhirUrl, { token: await subs.server.token({ scope, role, fhirUser }) });
const activeSoon = (id: string) => expect.poll(async () => (await subs.root.get<Subscription>(`Subscription/${id}`)).body.status, POLL).toBe('active');
const notifiedAt = (path: string) => (r: { url: string; json?: unknown }) => r.url === path && focusOf(r.json).length > 0;
const idOf = (reference: string) => reference.split('/').slice(-2).join('/');

describe('alerts', () => {
  it('a patient is notified when a practitioner asks for access (a proposed Consent naming them), and of nothing about others', async () => {
    const k = await user('patient', 'Patient/k');
    const sub = await k.create(restHook('Consent?patient=Patient/k&status=proposed', `${subs.receiver.url}/k-requests`, { payload: 'application/fhir+json' }));
    await activeSoon(sub.id!);
    const d1 = await user('practitioner', 'Practitioner/d1');
    expect((await d1.put('Consent/j-request-d1', privacyConsent('j-request-d1', 'j', aboutActor('permit', 'Practitioner/d1'), 'proposed'))).status).toBe(201);
    expect((await d1.put('Consent/k-request-d1', privacyConsent('k-request-d1', 'k', aboutActor('permit', 'Practitioner/d1'), 'proposed'))).status).toBe(201);
    const [note] = await subs.receiver.waitFor(notifiedAt('/k-requests'));
    expect(focusOf(note.json).map(idOf)).toEqual(['Consent/k-request-d1']);
    // The patient can open the request the notification names.
    expect((await k.get<Consent>('Consent/k-request-d1')).body.status).toBe('proposed');
    await sleep(300);
    expect(subs.receiver.received.filter(notifiedAt('/k-requests')).flatMap((r) => focusOf(r.json)).map(idOf)).toEqual(['Consent/k-request-d1']);
  });

  it('a patient is notified of a break-glass access to their record, not of ordinary or refused ones', async () => {
    await seed(subs.root, prescription('k-mr1', 'k') as any);
    await seed(subs.root, privacyConsent('k-nobody', 'k', { type: 'deny' }) as any);
    const k = await user('patient', 'Patient/k');
    const sub = await k.create(restHook('AuditEvent?patient=Patient/k&break-glass=true', `${subs.receiver.url}/k-glass`, { payload: 'application/fhir+json' }));
    await activeSoon(sub.id!);
    const d1 = await user('practitioner', 'Practitioner/d1', 'user/*.rs');
    expect((await d1.get('MedicationRequest/k-mr1')).status).toBe(404);
    expect((await k.get('MedicationRequest/k-mr1')).status).toBe(200);
    expect((await d1.get('MedicationRequest/k-mr1', { 'X-Purpose-Of-Use': 'ETREAT' })).status).toBe(200);
    const [note] = await subs.receiver.waitFor(notifiedAt('/k-glass'));
    const [reference] = focusOf(note.json);
    expect(reference).toMatch(/\/AuditEvent\/[^/]+$/);
    const event = (await k.get<AuditEvent>(idOf(reference))).body;
    expect(event.extension?.some((x) => x.url === BREAK_GLASS_EXTENSION && x.valueBoolean)).toBe(true);
    expect(event.agent?.[0]?.who?.reference).toBe('Practitioner/d1');
    await sleep(400);
    expect(subs.receiver.received.filter(notifiedAt('/k-glass'))).toHaveLength(1);
  });

  it('a prescriber is notified of a dispense against their prescription, not of one against a colleague’s', async () => {
    await seed(subs.root, prescription('rx-d1', 'j') as any, prescription('rx-d2', 'j', { requester: { reference: 'Practitioner/d2' } }) as any);
    const d1 = await user('practitioner', 'Practitioner/d1');
    const sub = await d1.create(restHook('MedicationDispense?prescription.requester=Practitioner/d1', `${subs.receiver.url}/d1-dispenses`, { payload: 'application/fhir+json' }));
    await activeSoon(sub.id!);
    const pharmacist = await user('pharmacist', 'Practitioner/ph1');
    const other = await pharmacist.create(dispense('rx-d2', 'j'));
    const mine = await pharmacist.create(dispense('rx-d1', 'j'));
    const [note] = await subs.receiver.waitFor(notifiedAt('/d1-dispenses'));
    expect(focusOf(note.json).map(idOf)).toEqual([`MedicationDispense/${mine.id}`]);
    await sleep(300);
    expect(subs.receiver.received.filter(notifiedAt('/d1-dispenses')).flatMap((r) => focusOf(r.json)).map(idOf)).not.toContain(`MedicationDispense/${other.id}`);
  });
});
