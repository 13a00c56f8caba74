import type { Bundle, Resource, Subscription } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Pipeline } from '../fhir/pipeline.js';
import type { FhirRequest, RequestContext } from '../fhir/request.js';
import type { Logger } from '../logger.js';
import { endpointAllowed } from './endpoints.js';
import { hookRequestOf, type Notice } from './notification.js';
import { DELIVERY_SOURCE, type SubscriptionRegistry, type Watched } from './registry.js';
import type { DeliveryQueue, QueueItem, SubscriptionOwner, SubscriptionSettings } from './types.js';

export interface DeliveryDeps {
  queue: DeliveryQueue;
  registry: SubscriptionRegistry;
  pipeline: Pipeline;
  settings: SubscriptionSettings;
  baseUrl: string;
  logger: Logger;
  clock: () => Date;
}

/** What became of one queue item. */
type Outcome = 'delivered' | 'failed' | 'dropped' | 'later';

/**
 * Handles one due queue item, always as the Subscription's owner through the one pipeline, so the
 * owner's scopes, role, compartment and the patients' Consents decide, at delivery time, what the
 * subscriber learns:
 * - `match`: the criteria, plus `_id` of the written resource, searched as the owner; no hit, or a
 *   search the owner may not make, means no notification;
 * - `event`: the resource read as the owner (it is the payload of `full-resource`); refused or gone, nothing is sent;
 * - `handshake`: sent as is.
 * A failed POST is retried with exponential backoff; after `errorAfter` failures in a row the
 * Subscription's status becomes `error`, after `offAfter` `off` (R4 subscription-status), and a
 * success makes it `active`.
 */
export async function deliver(deps: DeliveryDeps, item: QueueItem): Promise<Outcome> {
  const watched = deps.registry.get(item.subscriptionId);
  const owner = await deps.queue.ownerOf(item.subscriptionId);
  if (!watched || !owner || watched.subscription.status === 'off') {
    if (!owner && watched) deps.logger.warn({ subscription: item.subscriptionId }, 'subscriptions: no owner is known; nothing is sent');
    await deps.queue.remove(item.seq);
    return 'dropped';
  }
  if (watched.subscription.end && Date.parse(watched.subscription.end) <= deps.clock().getTime()) {
    await deps.queue.drop(item.subscriptionId);
    await setStatus(deps, watched.subscription, 'off', 'The subscription reached its end time');
    return 'dropped';
  }
  let notice: Notice;
  try {
    if (item.kind === 'match') {
      if (!(await matches(deps, watched, owner, item))) {
        await deps.queue.remove(item.seq);
        return 'dropped';
      }
      item = { ...item, kind: 'event', eventNumber: await deps.queue.matched(item.seq, item.subscriptionId) };
    }
    if (item.kind === 'handshake') notice = { type: 'handshake' };
    else {
      const resource = await readAs(deps, owner, item);
      if (!resource) {
        await deps.queue.remove(item.seq);
        return 'dropped';
      }
      notice = { type: 'event-notification', eventNumber: item.eventNumber ?? 0, focus: item.focus!, resource };
    }
  } catch (err) {
    // The store is unavailable (or the like): try again later, backing off, without counting it against the endpoint.
    deps.logger.warn({ err, subscription: item.subscriptionId }, 'subscriptions: could not evaluate a notification; retrying');
    await deps.queue.retry(item.seq, item.attempts + 1, deps.clock().getTime() + backoff(deps.settings, item.attempts + 1));
    return 'later';
  }
  return send(deps, watched, item, notice);
}

async function send(deps: DeliveryDeps, { subscription, channel }: Watched, item: QueueItem, notice: Notice): Promise<Outcome> {
  let failure: string | undefined;
  if (!endpointAllowed(channel.endpoint, deps.settings.endpoints)) failure = 'The endpoint is not among SUBSCRIPTION_ENDPOINTS';
  else {
    const hook = hookRequestOf(channel, subscription, notice, deps.baseUrl, deps.clock().toISOString());
    try {
      // No redirects: a redirect could lead the server to an address the allow-list does not name.
      const res = await fetch(hook.url, { method: hook.method, headers: hook.headers, body: hook.body, redirect: 'manual', signal: AbortSignal.timeout(deps.settings.timeoutMs) });
      await res.body?.cancel();
      if (res.status < 200 || res.status > 299) failure = `The endpoint answered ${res.status}`;
    } catch (err) {
      failure = `The endpoint could not be reached (${(err as Error).name})`;
    }
  }
  if (!failure) {
    await deps.queue.remove(item.seq);
    await deps.queue.setFailures(subscription.id!, 0);
    if (subscription.status !== 'active') await setStatus(deps, subscription, 'active');
    return 'delivered';
  }
  const failures = (await deps.queue.failures(subscription.id!)) + 1;
  await deps.queue.setFailures(subscription.id!, failures);
  deps.logger.warn({ subscription: subscription.id, failures, reason: failure }, 'subscriptions: delivery failed');
  if (failures >= deps.settings.offAfter) {
    await deps.queue.drop(subscription.id!);
    await setStatus(deps, subscription, 'off', `${failure}; turned off after ${failures} failed deliveries`);
    return 'failed';
  }
  const attempts = item.attempts + 1;
  await deps.queue.retry(item.seq, attempts, deps.clock().getTime() + backoff(deps.settings, attempts));
  if (failures >= deps.settings.errorAfter && subscription.status !== 'error') await setStatus(deps, subscription, 'error', failure);
  return 'failed';
}

/** The delay before attempt `attempts + 1`: the base delay, doubled after each attempt, at most the maximum. */
function backoff(settings: SubscriptionSettings, attempts: number): number {
  return Math.min(settings.retryBaseMs * 2 ** (attempts - 1), settings.retryMaxMs);
}

/** Whether the committed resource meets the criteria, as the owner searches (consent and scopes applied). */
async function matches(deps: DeliveryDeps, { channel }: Watched, owner: SubscriptionOwner, item: QueueItem): Promise<boolean> {
  const params = { ...channel.params, _id: [...(channel.params._id ?? []), item.focus!.id], _count: ['1'] };
  // Strict: a parameter the server stopped knowing must not widen the criteria (it fails the match instead).
  const result = await asOwner(deps, owner, item, { interaction: 'search-type', resourceType: channel.resourceType, params, preferHandling: 'strict' });
  const bundle = result?.resourceType === 'Bundle' ? (result as Bundle) : undefined;
  return (bundle?.entry ?? []).some((e) => e.search?.mode !== 'outcome' && e.resource?.id === item.focus!.id);
}

/** The resource as the owner may read it now; undefined when refused, withheld or gone. */
async function readAs(deps: DeliveryDeps, owner: SubscriptionOwner, item: QueueItem): Promise<Resource | undefined> {
  const { resourceType, id } = item.focus!;
  return asOwner(deps, owner, item, { interaction: 'read', resourceType, id, params: {} });
}

/** Runs a request as the owner; a refusal (4xx) is an answer (undefined), anything else is thrown to retry later. */
async function asOwner(deps: DeliveryDeps, owner: SubscriptionOwner, item: QueueItem, request: Omit<FhirRequest, 'context'>): Promise<Resource | undefined> {
  const context: RequestContext = { ...owner, requestId: `subscription-${item.subscriptionId}-${item.seq}`, baseUrl: deps.baseUrl, purposeOfUse: [], source: DELIVERY_SOURCE, authenticated: true };
  try {
    return (await deps.pipeline.execute({ ...request, context })).resource;
  } catch (err) {
    if (err instanceof FhirError && err.code !== 'store-unavailable' && err.code !== 'internal') return undefined;
    throw err;
  }
}

/** Records a status change on the Subscription (and `error`, R4's "last error"), as the server; a concurrent edit wins. */
async function setStatus(deps: DeliveryDeps, subscription: Subscription, status: Subscription['status'], error?: string): Promise<void> {
  const { error: _previous, ...rest } = subscription;
  const body: Subscription = { ...rest, status, ...(error ? { error } : {}) };
  const context: RequestContext = {
    requestId: `subscription-${subscription.id}-status`,
    baseUrl: deps.baseUrl,
    actor: 'fhirgate-subscriptions',
    role: 'system',
    clientId: DELIVERY_SOURCE,
    scopes: ['system/Subscription.u'],
    purposeOfUse: [],
    source: DELIVERY_SOURCE,
    authenticated: true,
  };
  try {
    const ifMatch = subscription.meta?.versionId ? `W/"${subscription.meta.versionId}"` : undefined;
    await deps.pipeline.execute({ interaction: 'update', resourceType: 'Subscription', id: subscription.id, params: {}, body, ...(ifMatch ? { ifMatch } : {}), context });
  } catch (err) {
    deps.logger.warn({ err, subscription: subscription.id, status }, 'subscriptions: the status could not be recorded');
  }
}
