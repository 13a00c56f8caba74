import type { Bundle, Parameters, Resource, Subscription } from '@medplum/fhirtypes';
import type { Channel } from './channel.js';
import type { Focus } from './types.js';

/** One HTTP call of a rest-hook. */
export interface HookRequest {
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** What is being sent: the channel check after creation, or an event about `focus` (with its content for full-resource). */
export type Notice = { type: 'handshake' } | { type: 'event-notification'; eventNumber: number; focus: Focus; resource?: Resource };

/**
 * The rest-hook call for a notice (R4 subscription.html#channels):
 * - `empty`: POST to the endpoint without a body (R4's ping), for events and the handshake alike;
 * - `full-resource`: the resource PUT to `[endpoint]/[type]/[id]`, as R4 sends a payload; the handshake is a ping;
 * - `id-only`: POST of a notification Bundle in the Subscriptions Backport IG's R4 shape (a `history`
 *   Bundle whose first entry is the status, a Parameters), naming the resource without its content.
 * `channel.header` lines are sent as HTTP headers (R4: "Additional headers / information to send as part of the notification").
 */
export function hookRequestOf(channel: Channel, subscription: Subscription, notice: Notice, baseUrl: string, timestamp: string): HookRequest {
  const headers: Record<string, string> = Object.fromEntries(channel.headers);
  if (channel.content === 'empty' || (notice.type === 'handshake' && channel.content === 'full-resource')) {
    return { method: 'POST', url: channel.endpoint, headers };
  }
  headers['Content-Type'] = 'application/fhir+json';
  if (notice.type === 'event-notification' && channel.content === 'full-resource' && notice.resource) {
    const url = `${channel.endpoint.replace(/\/+$/, '')}/${notice.resource.resourceType}/${notice.resource.id}`;
    return { method: 'PUT', url, headers, body: JSON.stringify(notice.resource) };
  }
  return { method: 'POST', url: channel.endpoint, headers, body: JSON.stringify(notificationBundle(subscription, notice, baseUrl, timestamp)) };
}

/** The backport IG's R4 notification Bundle: the SubscriptionStatus as a Parameters, then the focus by reference only. */
export function notificationBundle(subscription: Subscription, notice: Notice, baseUrl: string, timestamp: string): Bundle {
  const subscriptionUrl = `${baseUrl}/Subscription/${subscription.id}`;
  const events = notice.type === 'event-notification' ? notice.eventNumber : 0;
  const status: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'subscription', valueReference: { reference: subscriptionUrl } },
      { name: 'status', valueCode: subscription.status },
      { name: 'type', valueCode: notice.type },
      { name: 'events-since-subscription-start', valueString: String(events) },
      ...(notice.type === 'event-notification'
        ? [
            {
              name: 'notification-event',
              part: [
                { name: 'event-number', valueString: String(notice.eventNumber) },
                { name: 'timestamp', valueInstant: timestamp },
                { name: 'focus', valueReference: { reference: `${baseUrl}/${notice.focus.resourceType}/${notice.focus.id}` } },
              ],
            },
          ]
        : []),
    ],
  };
  return {
    resourceType: 'Bundle',
    type: 'history',
    timestamp,
    entry: [
      { fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: status, request: { method: 'GET', url: `${subscriptionUrl}/$status` }, response: { status: '200' } },
      ...(notice.type === 'event-notification'
        ? [
            {
              fullUrl: `${baseUrl}/${notice.focus.resourceType}/${notice.focus.id}`,
              request: { method: 'PUT' as const, url: `${notice.focus.resourceType}/${notice.focus.id}` },
              response: { status: '200' },
            },
          ]
        : []),
    ],
  };
}
