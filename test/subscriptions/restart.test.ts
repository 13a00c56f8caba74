import type { Patient, Practitioner, Subscription } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { focusOf, restHook, startReceiver, SUBSCRIPTION_ENV, POLL, type Receiver } from './support.js';

let server: TestServer;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startServer(SUBSCRIPTION_ENV);
});
afterAll(async () => {
  await server.destroy();
  await receiver.close();
});

const notified = (r: { url: string; json?: unknown }) => r.url === '/queue' && focusOf(r.json).length > 0;

describe('the delivery queue survives a restart', () => {
  it('notifications that could not be delivered before the server stopped are delivered after it starts again, in order', async () => {
    const root = fhirClient(server.fhirUrl);
    const sub = await root.create(restHook('Practitioner?family=Queued', `${receiver.url}/queue`, { payload: 'application/fhir+json' }));
    await expect.poll(async () => (await root.get<Subscription>(`Subscription/${sub.id}`)).body.status, POLL).toBe('active');

    receiver.status = 503;
    const first = await root.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Queued' }] });
    const second = await root.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Queued' }] });
    await receiver.waitFor(notified, 1);
    // Both wait in the queue: the first failed, the second is behind it.
    expect(await server.app.subscriptions.depth()).toBe(2);
    await server.stop();
    expect(await server.app.store.ping().catch(() => false)).toBe(false);
    const failedBefore = receiver.received.filter(notified).length;

    receiver.status = 200;
    server = await server.restart();
    const after = await receiver.waitFor(notified, failedBefore + 2);
    const delivered = after.slice(failedBefore);
    expect(delivered.map((r) => focusOf(r.json)[0].split('/').slice(-2).join('/'))).toEqual([`Practitioner/${first.id}`, `Practitioner/${second.id}`]);
    // Numbered in the order they were committed (events-since-subscription-start).
    const numbers = delivered.map((r) => r.json.entry[0].resource.parameter.find((p: any) => p.name === 'events-since-subscription-start').valueString);
    expect(numbers).toEqual(['1', '2']);
    await expect.poll(() => server.app.subscriptions.depth(), POLL).toBe(0);
  });

  it('a Subscription created before the restart keeps notifying after it', async () => {
    const root = fhirClient(server.fhirUrl);
    const third = await root.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Queued' }] });
    const [note] = await receiver.waitFor((r) => notified(r) && focusOf(r.json)[0].endsWith(`/Practitioner/${third.id}`));
    expect(note.json.entry[0].resource.parameter.find((p: any) => p.name === 'status').valueCode).toBe('active');
  });
});
