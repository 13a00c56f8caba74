import type { RequestContext } from '../fhir/request.js';
import type { EndpointRule } from './endpoints.js';

/** Subscription settings (SUBSCRIPTION_* in the README's configuration table). */
export interface SubscriptionSettings {
  /** Endpoints rest-hooks may call (SUBSCRIPTION_ENDPOINTS); none when empty. */
  endpoints: readonly EndpointRule[];
  /** First retry delay; each further retry doubles it, up to `retryMaxMs` (exponential backoff). */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Consecutive failed deliveries after which the Subscription's status becomes `error`, and `off`. */
  errorAfter: number;
  offAfter: number;
  /** How long one delivery may take. */
  timeoutMs: number;
}

/**
 * Who a Subscription acts for: the principal who created it, as authenticated then. Notifications
 * are decided as this principal's searches and reads through the pipeline, so scopes, roles, the
 * compartment and the patient's Consents decide what the subscriber may learn. A purpose of use is
 * not kept: a break-glass access does not become a standing one.
 */
export type SubscriptionOwner = Pick<RequestContext, 'actor' | 'role' | 'roles' | 'scopes' | 'patient' | 'clientId' | 'subject'>;

/** What a queue item asks for: check the criteria on a committed resource, confirm the channel (handshake), or notify. */
export type ItemKind = 'match' | 'handshake' | 'event';

export interface Focus {
  resourceType: string;
  id: string;
  versionId: number;
}

export interface QueueItem {
  seq: number;
  subscriptionId: string;
  kind: ItemKind;
  focus?: Focus;
  /** Set once matched: the subscription's events-since-subscription-start at this event. */
  eventNumber?: number;
  attempts: number;
  /** Epoch milliseconds before which the item is not tried. */
  nextAt: number;
}

/**
 * The durable delivery queue (a port: `sqlite-queue.ts` keeps it in DATA_DIR). What the commit
 * observer enqueues survives a restart, items of one subscription are handled in order, and each
 * subscription's owner and failure count live beside its items.
 */
export interface DeliveryQueue {
  close(): Promise<void>;
  setOwner(subscriptionId: string, owner: SubscriptionOwner): Promise<void>;
  ownerOf(subscriptionId: string): Promise<SubscriptionOwner | undefined>;
  enqueue(items: ReadonlyArray<Pick<QueueItem, 'subscriptionId' | 'kind' | 'focus'>>, now: number): Promise<void>;
  /** The first item of each subscription, when due; at most `limit`. */
  due(now: number, limit: number): Promise<QueueItem[]>;
  /** A `match` item whose criteria held becomes an `event`, numbered; returns the number. */
  matched(seq: number, subscriptionId: string): Promise<number>;
  remove(seq: number): Promise<void>;
  retry(seq: number, attempts: number, nextAt: number): Promise<void>;
  /** Consecutive failed deliveries of a subscription; `setFailures(id, 0)` after a success. */
  failures(subscriptionId: string): Promise<number>;
  setFailures(subscriptionId: string, failures: number): Promise<void>;
  /** Removes every item of a subscription (turned off, deleted). */
  drop(subscriptionId: string): Promise<void>;
  /** Items waiting, all subscriptions together. */
  depth(): Promise<number>;
}
