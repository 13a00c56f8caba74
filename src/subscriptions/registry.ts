import type { AuditEvent, Subscription } from '@medplum/fhirtypes';
import type { StorageCodec } from '../fhir/codec.js';
import type { Logger } from '../logger.js';
import type { StoredRecord, StorePort } from '../store/port.js';
import { channelOf, type Channel } from './channel.js';
import type { DeliveryQueue, QueueItem, SubscriptionOwner } from './types.js';

/** `network.address` of the requests the delivery makes as a subscription's owner, so their own AuditEvents trigger nothing. */
export const DELIVERY_SOURCE = 'fhirgate-subscriptions';

/** Statuses that receive events (R4 subscription-status: `requested` waits for its handshake, `error` keeps retrying, `off` gets nothing). */
const LISTENING = new Set(['requested', 'active', 'error']);

export interface Watched {
  subscription: Subscription;
  channel: Channel;
}

/**
 * The Subscriptions in force, kept current from the commits the store observer reports, and what a
 * commit means for them: `match` items for every listening Subscription whose criteria's type was
 * written, a `handshake` when one is created (or asked for again), its queue dropped when it is
 * turned off or deleted. Enqueued before the write's commit resolves to its caller, so nothing
 * committed is missed by a restart.
 */
export class SubscriptionRegistry {
  readonly #watched = new Map<string, Watched>();

  constructor(
    private readonly deps: {
      queue: DeliveryQueue;
      codec: StorageCodec;
      owners: WeakMap<StoredRecord, SubscriptionOwner>;
      logger: Logger;
      clock: () => Date;
    },
  ) {}

  get(id: string): Watched | undefined {
    return this.#watched.get(id);
  }

  /** Reads every current Subscription, at start. */
  async load(store: StorePort): Promise<void> {
    for (const record of await store.find('current', { resourceType: 'Subscription', deleted: false })) await this.#remember(record);
  }

  /**
   * What a durable commit means for the subscriptions: the number of items it queued; never throws
   * (the data is committed whatever happens here).
   */
  async committed(records: readonly StoredRecord[]): Promise<number> {
    try {
      const items: Array<Pick<QueueItem, 'subscriptionId' | 'kind' | 'focus'>> = [];
      for (const record of records) {
        if (record.resourceType === 'Subscription') items.push(...(await this.#subscriptionChanged(record)));
        else if (!record.deleted) items.push(...(await this.#candidates(record)));
      }
      if (items.length > 0) await this.deps.queue.enqueue(items, this.deps.clock().getTime());
      return items.length;
    } catch (err) {
      this.deps.logger.error({ err }, 'subscriptions: a commit could not be queued for notification');
      return 0;
    }
  }

  async #candidates(record: StoredRecord): Promise<Array<Pick<QueueItem, 'subscriptionId' | 'kind' | 'focus'>>> {
    const watching = [...this.#watched.values()].filter((w) => w.channel.resourceType === record.resourceType && LISTENING.has(w.subscription.status));
    if (watching.length === 0) return [];
    if (record.resourceType === 'AuditEvent' && record.resource) {
      const event = (await this.deps.codec.decode(record.resource)) as AuditEvent;
      if (event.agent?.some((a) => a.network?.address === DELIVERY_SOURCE)) return [];
    }
    const focus = { resourceType: record.resourceType, id: record.id, versionId: record.versionId };
    return watching.map((w) => ({ subscriptionId: w.subscription.id!, kind: 'match' as const, focus }));
  }

  async #subscriptionChanged(record: StoredRecord): Promise<Array<Pick<QueueItem, 'subscriptionId' | 'kind'>>> {
    const owner = this.deps.owners.get(record);
    if (owner) await this.deps.queue.setOwner(record.id, owner);
    const before = this.#watched.get(record.id)?.subscription.status;
    const now = record.deleted ? undefined : await this.#remember(record);
    if (!now) {
      this.#watched.delete(record.id);
      await this.deps.queue.drop(record.id);
      return [];
    }
    if (now.status === 'off') await this.deps.queue.drop(record.id);
    // A new Subscription, or one asked for again (`requested` after `off` or `error`), is confirmed by a handshake.
    const created = before === undefined && now.status === 'active';
    if (!created && !(now.status === 'requested' && before !== 'requested')) return [];
    // Asked for again: the failures that turned it off or to error no longer count.
    await this.deps.queue.setFailures(record.id, 0);
    return [{ subscriptionId: record.id, kind: 'handshake' }];
  }

  async #remember(record: StoredRecord): Promise<Subscription | undefined> {
    const subscription = (await this.deps.codec.decode(record.resource!)) as Subscription;
    try {
      // The allow-list is not applied here: one written before its endpoint left SUBSCRIPTION_ENDPOINTS fails at delivery.
      this.#watched.set(record.id, { subscription, channel: channelOf(subscription, undefined, () => true) });
    } catch {
      this.#watched.delete(record.id);
    }
    return subscription;
  }
}
function criteriaType(subscription: Subscription): string {
  return /^[A-Za-z]+/.exec(subscription.criteria ?? '')?.[0] ?? '';
}
