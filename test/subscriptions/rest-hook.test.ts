import type { Patient, Practitioner, Subscription } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { fixtures } from '../auth/fixtures.js';
import { errorCode, fhirClient } from '../support/fhir-client.js';
import { authHeaders } from '../support/tokens.js';
import { ADT, ackCode } from '../hl7v2/support.js';
import { focusOf, restHook, POLL, useSubscriptionServer } from './support.js';

const subs = useSubscriptionServer();

describe('rest-hook notifications', () => {
  it('handshake makes the Subscription active; a matching create is notified id-only, with the channel headers', async () => {
    const sub = await subs.root.create(restHook('Patient?family=Hook', `${subs.receiver.url}/a`, { payload: 'application/fhir+json', header: ['Authorization: Bearer receiver-secret'] }));
    const [handshake] = await subs.receiver.waitFor((r) => r.url === '/a');
    expect(handshake.json.entry[0].resource.parameter.find((p: any) => p.name === 'type').valueCode).toBe('handshake');
    await expect.poll(async () => (await subs.root.get<Subscription>(`Subscription/${sub.id}`)).body.status, POLL).toBe('active');

    const other = await subs.root.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Other' }] });
    const hooked = await subs.root.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Hook' }] });
    const [note] = await subs.receiver.waitFor((r) => r.url === '/a' && focusOf(r.json).length > 0);
    expect(note.method).toBe('POST');
    expect(note.headers['content-type']).toBe('application/fhir+json');
    expect(note.headers.authorization).toBe('Bearer receiver-secret');
    expect(focusOf(note.json)).toEqual([`${subs.server.fhirUrl}/Patient/${hooked.id}`]);
    // id-only: no content of the resource travels.
    expect(note.body).not.toContain('Hook');
    expect(note.json.entry[1].resource).toBeUndefined();
    await new Promise((r) => setTimeout(r, 300));
    expect(subs.receiver.at('/a').flatMap((r) => focusOf(r.json))).not.toContain(`${subs.server.fhirUrl}/Patient/${other.id}`);
  });

  it('without a payload, R4 ping: an empty POST; with full-resource, the resource PUT to [endpoint]/[type]/[id]', async () => {
    await subs.root.create(restHook('Practitioner?family=Pinged', `${subs.receiver.url}/ping`));
    await subs.root.create(restHook('Practitioner?family=Pinged', `${subs.receiver.url}/full`, { payload: 'application/fhir+json', content: 'full-resource' }));
    await subs.receiver.waitFor((r) => r.url === '/ping');
    await subs.receiver.waitFor((r) => r.url === '/full');
    const p = await subs.root.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Pinged' }] });
    const pings = await subs.receiver.waitFor((r) => r.url === '/ping', 2);
    expect(pings[1].body).toBe('');
    const [put] = await subs.receiver.waitFor((r) => r.url === `/full/Practitioner/${p.id}`);
    expect(put.method).toBe('PUT');
    expect(put.json.name[0].family).toBe('Pinged');
  });

  it('a transaction and a batch notify like single writes (the one post-commit point)', async () => {
    await subs.root.create(restHook('Practitioner?family=Bundled', `${subs.receiver.url}/tx`, { payload: 'application/fhir+json' }));
    await subs.receiver.waitFor((r) => r.url === '/tx');
    const res = await subs.root.post('', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { ...fixtures.practitioner('tx-1'), name: [{ family: 'Bundled' }] }, request: { method: 'PUT', url: 'Practitioner/tx-1' } }],
    });
    expect(res.status).toBe(200);
    const [note] = await subs.receiver.waitFor((r) => r.url === '/tx' && focusOf(r.json).length > 0);
    expect(focusOf(note.json)).toEqual([`${subs.server.fhirUrl}/Practitioner/tx-1`]);
  });

  it('an HL7 v2 message notifies like a REST write', async () => {
    await subs.root.create(restHook('Patient?family=Seven', `${subs.receiver.url}/v2`, { payload: 'application/fhir+json' }));
    await subs.receiver.waitFor((r) => r.url === '/v2');
    const res = await fetch(`${subs.server.origin}/hl7/v2`, { method: 'POST', headers: { 'Content-Type': 'x-application/hl7-v2+er7', ...authHeaders(subs.server.fhirUrl) }, body: ADT('SUB-1', 'MRN-SUB1', 'Seven') });
    expect(ackCode(await res.text()).code).toBe('AA');
    const [note] = await subs.receiver.waitFor((r) => r.url === '/v2' && focusOf(r.json).length > 0);
    const patient = (await subs.root.get(`${focusOf(note.json)[0]}`)).body;
    expect(patient.name[0].family).toBe('Seven');
  });
});

describe('the end of a Subscription', () => {
  it('a deleted Subscription notifies no more', async () => {
    const sub = await subs.root.create(restHook('Practitioner?family=Gone', `${subs.receiver.url}/gone`, { payload: 'application/fhir+json' }));
    await expect.poll(async () => (await subs.root.get<Subscription>(`Subscription/${sub.id}`)).body.status, POLL).toBe('active');
    expect((await subs.root.delete(`Subscription/${sub.id}`)).status).toBe(200);
    await subs.root.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Gone' }] });
    await new Promise((r) => setTimeout(r, 400));
    expect(subs.receiver.at('/gone').filter((r) => focusOf(r.json).length > 0)).toEqual([]);
  });

  it('a Subscription past its end is turned off without calling the endpoint', async () => {
    const sub = await subs.root.create({ ...restHook('Practitioner?family=Ended', `${subs.receiver.url}/ended`), end: '2020-01-01T00:00:00Z' });
    await expect.poll(async () => (await subs.root.get<Subscription>(`Subscription/${sub.id}`)).body.status, POLL).toBe('off');
    expect((await subs.root.get<Subscription>(`Subscription/${sub.id}`)).body.error).toMatch(/end time/);
    expect(subs.receiver.at('/ended')).toEqual([]);
  });
});

describe('what a Subscription may be', () => {
  it('criteria with a parameter the subs.server does not know are refused (400), not widened to every resource', async () => {
    const res = await subs.root.post('Subscription', restHook('Patient?no-such-param=1', `${subs.receiver.url}/unknown`));
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('criteria the creator may not search are refused (403)', async () => {
    const patient = fhirClient(subs.server.fhirUrl, { token: await subs.server.token({ scope: 'user/*.cruds', role: 'patient', fhirUser: 'Patient/somebody' }) });
    // A patient searches the audit trail by a few parameters only (issue 15), never by agent.
    const res = await patient.post('Subscription', restHook('AuditEvent?agent=Practitioner/d1', `${subs.receiver.url}/spy`));
    expect(res.status).toBe(403);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it.each([
    ['a websocket channel', { ...restHook('Patient', 'http://127.0.0.1:1/x'), channel: { type: 'websocket' } }, 'Subscription.channel.type'],
    ['an email channel', { ...restHook('Patient', 'http://127.0.0.1:1/x'), channel: { type: 'email', endpoint: 'mailto:a@b.c' } }, 'Subscription.channel.type'],
    ['an ftp endpoint', restHook('Patient', 'ftp://127.0.0.1/x'), 'Subscription.channel.endpoint'],
    ['an endpoint not on the allow-list', restHook('Patient', 'http://169.254.169.254/latest/meta-data'), 'Subscription.channel.endpoint'],
    ['a host that only starts like an allowed one', restHook('Patient', 'http://127.0.0.1.evil.example/x'), 'Subscription.channel.endpoint'],
    ['criteria that are no search', restHook('not a search', 'http://127.0.0.1:1/x'), 'Subscription.criteria'],
    ['criteria on an unknown type', restHook('Unicorn?x=1', 'http://127.0.0.1:1/x'), 'Subscription.criteria'],
    ['criteria on Subscription itself', restHook('Subscription?status=active', 'http://127.0.0.1:1/x'), 'Subscription.criteria'],
    ['an XML payload', restHook('Patient', 'http://127.0.0.1:1/x', { payload: 'application/fhir+xml' }), 'Subscription.channel.payload'],
    ['a header that is no header', restHook('Patient', 'http://127.0.0.1:1/x', { header: ['no colon here'] }), 'Subscription.channel.header'],
  ])('refuses %s with an OperationOutcome', async (_name, body, expression) => {
    const res = await subs.root.post('Subscription', body);
    expect(res.status).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(errorCode(res.body)).toBe('invalid-resource');
    expect(res.body.issue[0].expression).toEqual([expression]);
  });
});
