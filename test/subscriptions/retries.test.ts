import type { Patient, Practitioner, Subscription } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { focusOf, restHook, POLL, useSubscriptionServer } from './support.js';

/** SUBSCRIPTION_ENV: retries from 50 ms doubling to 400 ms, `error` after 2 failures in a row, `off` after 8. */
const subs = useSubscriptionServer();

const statusOf = async (id: string): Promise<Subscription> => (await subs.root.get<Subscription>(`Subscription/${id}`)).body;

describe('retries', () => {
  it('a failing endpoint is retried with growing delays, the Subscription turns error, then active again on success', async () => {
    subs.receiver.status = 503;
    const sub = await subs.root.create(restHook('Practitioner?family=Retry', `${subs.receiver.url}/flaky`, { payload: 'application/fhir+json' }));
    const attempts = await subs.receiver.waitFor((r) => r.url === '/flaky', 3);
    // Exponential backoff: 50 ms, then 100 ms.
    expect(attempts[2].at - attempts[1].at).toBeGreaterThanOrEqual(90);
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(40);
    await expect.poll(async () => (await statusOf(sub.id!)).status, POLL).toBe('error');
    expect((await statusOf(sub.id!)).error).toContain('503');
    subs.receiver.status = 200;
    // The handshake that kept failing finally goes through, and the Subscription is active.
    await expect.poll(async () => (await statusOf(sub.id!)).status, POLL).toBe('active');
    expect((await statusOf(sub.id!)).error).toBeUndefined();
    const p = await subs.root.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Retry' }] });
    const [note] = await subs.receiver.waitFor((r) => r.url === '/flaky' && r.headers['content-type'] === 'application/fhir+json' && focusOf(r.json).length > 0);
    expect(focusOf(note.json)).toEqual([`${subs.server.fhirUrl}/Practitioner/${p.id}`]);
  });

  it('an endpoint that keeps failing turns the Subscription off, and nothing more is sent', async () => {
    subs.receiver.status = 500;
    const sub = await subs.root.create(restHook('Practitioner?family=Dead', `${subs.receiver.url}/dead`));
    await expect.poll(async () => (await statusOf(sub.id!)).status, POLL).toBe('off');
    const calls = subs.receiver.at('/dead').length;
    expect(calls).toBe(8);
    expect((await statusOf(sub.id!)).error).toMatch(/turned off after 8 failed deliveries/);
    subs.receiver.status = 200;
    await subs.root.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Dead' }] });
    await new Promise((r) => setTimeout(r, 600));
    expect(subs.receiver.at('/dead').length).toBe(calls);
    // Asked for again (`requested`), it starts afresh: one failure does not turn it off again.
    subs.receiver.status = 500;
    const off = await statusOf(sub.id!);
    expect((await subs.root.put(`Subscription/${sub.id}`, { ...off, status: 'requested' })).status).toBe(200);
    await subs.receiver.waitFor((r) => r.url === '/dead', calls + 2);
    expect((await statusOf(sub.id!)).status).not.toBe('off');
    subs.receiver.status = 200;
    await expect.poll(async () => (await statusOf(sub.id!)).status, POLL).toBe('active');
  });

  it('the delays between attempts grow (exponential backoff)', async () => {
    subs.receiver.status = 500;
    await subs.root.create(restHook('Practitioner?family=Backoff', `${subs.receiver.url}/backoff`));
    const calls = await subs.receiver.waitFor((r) => r.url === '/backoff', 4, 8000);
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
    // 50, 100, 200 ms (timers may fire a little late, never early).
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    expect(gaps[2]).toBeGreaterThanOrEqual(195);
    subs.receiver.status = 200;
  });
});
