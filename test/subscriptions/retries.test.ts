import type { Patient, Practitioner, Subscription } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirClient, type FhirClient } from '../support/fhir-client.js';
import { startServer, type TestServer } from '../support/server.js';
import { focusOf, restHook, startReceiver, SUBSCRIPTION_ENV, POLL, type Receiver } from './support.js';

/** SUBSCRIPTION_ENV: retries from 50 ms doubling to 400 ms, `error` after 2 failures in a row, `off` after 8. */
let server: TestServer;
let receiver: Receiver;
let root: FhirClient;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startServer(SUBSCRIPTION_ENV);
  root = fhirClient(server.fhirUrl);
});
afterAll(async () => {
  await server.destroy();
  await receiver.close();
});

const statusOf = async (id: string): Promise<Subscription> => (await root.get<Subscription>(`Subscription/${id}`)).body;

describe('retries', () => {
  it('a failing endpoint is retried with growing delays, the Subscription turns error, then active again on success', async () => {
    receiver.status = 503;
    const sub = await root.create(restHook('Practitioner?family=Retry', `${receiver.url}/flaky`, { payload: 'application/fhir+json' }));
    const attempts = await receiver.waitFor((r) => r.url === '/flaky', 3);
    // Exponential backoff: 50 ms, then 100 ms.
    expect(attempts[2].at - attempts[1].at).toBeGreaterThanOrEqual(90);
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(40);
    await expect.poll(async () => (await statusOf(sub.id!)).status, POLL).toBe('error');
    expect((await statusOf(sub.id!)).error).toContain('503');
    receiver.status = 200;
    // The handshake that kept failing finally goes through, and the Subscription is active.
    await expect.poll(async () => (await statusOf(sub.id!)).status, POLL).toBe('active');
    expect((await statusOf(sub.id!)).error).toBeUndefined();
    const p = await root.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Retry' }] });
    const [note] = await receiver.waitFor((r) => r.url === '/flaky' && r.headers['content-type'] === 'application/fhir+json' && focusOf(r.json).length > 0);
    expect(focusOf(note.json)).toEqual([`${server.fhirUrl}/Practitioner/${p.id}`]);
  });

  it('an endpoint that keeps failing turns the Subscription off, and nothing more is sent', async () => {
    receiver.status = 500;
    const sub = await root.create(restHook('Practitioner?family=Dead', `${receiver.url}/dead`));
    await expect.poll(async () => (await statusOf(sub.id!)).status, POLL).toBe('off');
    const calls = receiver.at('/dead').length;
    expect(calls).toBe(8);
    expect((await statusOf(sub.id!)).error).toMatch(/turned off after 8 failed deliveries/);
    receiver.status = 200;
    await root.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Dead' }] });
    await new Promise((r) => setTimeout(r, 600));
    expect(receiver.at('/dead').length).toBe(calls);
    // Asked for again (`requested`), it starts afresh: one failure does not turn it off again.
    receiver.status = 500;
    const off = await statusOf(sub.id!);
    expect((await root.put(`Subscription/${sub.id}`, { ...off, status: 'requested' })).status).toBe(200);
    await receiver.waitFor((r) => r.url === '/dead', calls + 2);
    expect((await statusOf(sub.id!)).status).not.toBe('off');
    receiver.status = 200;
    await expect.poll(async () => (await statusOf(sub.id!)).status, POLL).toBe('active');
  });

  it('the delays between attempts grow (exponential backoff)', async () => {
    receiver.status = 500;
    await root.create(restHook('Practitioner?family=Backoff', `${receiver.url}/backoff`));
    const calls = await receiver.waitFor((r) => r.url === '/backoff', 4, 8000);
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
    // 50, 100, 200 ms (timers may fire a little late, never early).
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    expect(gaps[2]).toBeGreaterThanOrEqual(195);
    receiver.status = 200;
  });
});
