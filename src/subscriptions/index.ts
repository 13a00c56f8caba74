import type { Pipeline } from '../fhir/pipeline.js';
import type { Logger } from '../logger.js';
import { observeCommits } from '../store/observed-store.js';
import { StoreUnavailableError, type StoredRecord, type StorePort } from '../store/port.js';
import type { StorageCodec } from '../fhir/codec.js';
import type { WorkflowStep } from '../workflow/types.js';
import { withSubscriptionChecks } from './check.js';
import { deliver } from './delivery.js';
import { SubscriptionRegistry } from './registry.js';
import { openSqliteQueue } from './sqlite-queue.js';
import type { DeliveryQueue, SubscriptionOwner, SubscriptionSettings } from './types.js';

export type { SubscriptionSettings } from './types.js';
export { withBreakGlassSearch } from './break-glass-search.js';

// How often the queue is looked at when nothing woke it; a commit that enqueues wakes it at once.
const POLL_MS = 250;
const LOAD_RETRY_MS = 1000;
const BATCH = 20;

/** Subscriptions (issue 18): R4 rest-hook notifications after commit, from a durable queue. */
export interface Subscriptions {
  /** The store, reporting every durable commit to the subscriptions: the one post-commit point of every write path. */
  observe(store: StorePort): StorePort;
  /** The write-path step that checks Subscriptions and notes their owners, around the workflow rules. */
  check(next: WorkflowStep | undefined, served: (type: string) => boolean): WorkflowStep;
  /** Loads the Subscriptions and starts delivering, resuming what the queue kept across a restart. */
  start(deps: { pipeline: Pipeline; store: StorePort; codec: StorageCodec; baseUrl: string }): Promise<void>;
  /** Items waiting for delivery. */
  depth(): Promise<number>;
  /** Stops delivering (an in-flight delivery finishes) and closes the queue. */
  close(): Promise<void>;
}

export function createSubscriptions(deps: { settings: SubscriptionSettings; dataDir: string; logger: Logger; clock: () => Date }): Subscriptions {
  const logger = deps.logger.child({ component: 'subscriptions' });
  const queue: DeliveryQueue = openSqliteQueue(deps.dataDir);
  const owners = new WeakMap<StoredRecord, SubscriptionOwner>();
  let registry: SubscriptionRegistry | undefined;
  let timer: NodeJS.Timeout | undefined;
  let draining: Promise<void> | undefined;
  let closed = false;
  let wake: () => void = () => undefined;
  // The Subscriptions are read from the store once it answers: the server starts while MongoDB is
  // unreachable (503s meanwhile), and a commit, which proves the store is back, reads them first.
  let loaded: Promise<void> | undefined;
  let ready = false;
  let loadStore: (() => Promise<void>) | undefined;
  const ensureLoaded = (): Promise<void> => {
    loaded ??= loadStore!().then(() => {
      ready = true;
    }, (err: unknown) => {
      loaded = undefined;
      throw err;
    });
    return loaded;
  };

  return {
    observe(store) {
      return observeCommits(store, async (writes, durably) => {
        await durably();
        // Before the caller hears of the commit: what it wrote is in the durable queue by then.
        if (registry && !closed) {
          await ensureLoaded().catch((err: unknown) => logger.error({ err }, 'subscriptions: the Subscriptions could not be read'));
          // Only a commit that queued something wakes the queue: most commits (every read's AuditEvent) queue nothing.
          if ((await registry.committed(writes.map((w) => w.record))) > 0) wake();
        }
      });
    },
    check: (next, served) => withSubscriptionChecks(next, { settings: deps.settings, served, owners }),
    async start({ pipeline, store, codec, baseUrl }) {
      const known = new SubscriptionRegistry({ queue, codec, owners, logger, clock: deps.clock });
      registry = known;
      loadStore = () => known.load(store);
      const retryLoad = (): void => {
        if (closed) return;
        ensureLoaded().catch((err: unknown) => {
          if (!(err instanceof StoreUnavailableError)) throw err;
          logger.warn('subscriptions: the store is not available yet; reading the Subscriptions again in a second');
          setTimeout(retryLoad, LOAD_RETRY_MS).unref();
        });
      };
      try {
        await ensureLoaded();
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        retryLoad();
      }
      const delivery = { queue, registry, pipeline, settings: deps.settings, baseUrl, logger, clock: deps.clock };
      const drain = async (): Promise<void> => {
        // Until the Subscriptions are read, a queued item's Subscription would look deleted.
        if (!ready) return;
        for (let items = await queue.due(deps.clock().getTime(), BATCH); items.length > 0 && !closed; items = await queue.due(deps.clock().getTime(), BATCH)) {
          // Subscriptions are independent: their heads go out together; within one, order is kept by the queue.
          await Promise.all(items.map((item) => deliver(delivery, item).catch((err: unknown) => logger.error({ err }, 'subscriptions: delivery failed unexpectedly'))));
        }
      };
      const tick = (): void => {
        timer = undefined;
        if (closed || draining) return;
        draining = drain()
          .catch((err: unknown) => logger.error({ err }, 'subscriptions: the queue could not be read'))
          .finally(() => {
            draining = undefined;
            schedule(POLL_MS);
          });
      };
      const schedule = (ms: number): void => {
        if (closed || timer) return;
        timer = setTimeout(tick, ms);
        timer.unref();
      };
      wake = () => {
        if (timer && !draining) {
          clearTimeout(timer);
          timer = undefined;
        }
        schedule(0);
      };
      schedule(0);
    },
    depth: () => queue.depth(),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await draining;
      await queue.close();
    },
  };
}
