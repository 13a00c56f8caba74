import { hasLabel, isUnreachable } from './errors.js';

/**
 * Runs work in a multi-document transaction with a bounded retry policy.
 *
 * The driver's `withTransaction` retries transient errors for up to 120 s, which during an
 * outage would hold a request that long. Here: a write conflict with another transaction
 * (TransientTransactionError) retries the whole transaction after a short random pause, an
 * unknown commit result retries the commit (the driver makes that idempotent), and an
 * unreachable deployment fails at once so the edge answers 503 while the server selection
 * timeout is the only wait. https://www.mongodb.com/docs/manual/core/transactions-in-applications/
 */

/** The part of the driver's ClientSession used here (a fake in tests). */
export interface TransactionSession {
  startTransaction(options?: TransactionSettings): void;
  commitTransaction(): Promise<unknown>;
  abortTransaction(): Promise<unknown>;
  inTransaction(): boolean;
}

/** Options of every FhirGate transaction: snapshot reads, majority writes, on the primary. */
export interface TransactionSettings {
  readConcern: { level: 'snapshot' };
  writeConcern: { w: 'majority' };
  readPreference: 'primary';
}

export const TRANSACTION_SETTINGS: TransactionSettings = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
};

export interface RetryPolicy {
  /** Attempts of the whole transaction (first one included). */
  maxAttempts: number;
  /** Attempts of the commit within one transaction attempt. */
  maxCommitAttempts: number;
  /** Pause before the n-th retry (1-based), in ms. */
  backoff(retry: number): number;
  sleep(ms: number): Promise<void>;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 12,
  maxCommitAttempts: 3,
  backoff: (retry) => Math.min(200, 5 * 2 ** Math.min(retry, 6)) * (0.5 + Math.random()),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Thrown when write conflicts persisted through every attempt. */
export class TransactionRetriesExhaustedError extends Error {
  constructor(attempts: number, options: { cause: unknown }) {
    super(`MongoDB transaction still conflicting after ${attempts} attempts`, options);
    this.name = 'TransactionRetriesExhaustedError';
  }
}

/**
 * Runs `work` in a transaction of `session` and commits it. `work` may run several times and
 * must be written for that (its reads and writes happen inside the transaction). Errors that
 * `work` throws on purpose (e.g. VersionConflictError) abort the transaction and propagate.
 */
export async function runTransaction<T>(session: TransactionSession, work: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    if (attempt > 1) await policy.sleep(policy.backoff(attempt - 1));
    session.startTransaction(TRANSACTION_SETTINGS);
    let result: T;
    try {
      result = await work();
    } catch (err) {
      await abortQuietly(session);
      if (!retryTransaction(err)) throw err;
      lastError = err;
      continue;
    }
    try {
      await commitWithRetry(session, policy);
      return result;
    } catch (err) {
      if (!retryTransaction(err)) throw err;
      lastError = err;
    }
  }
  throw new TransactionRetriesExhaustedError(policy.maxAttempts, { cause: lastError });
}

/** DuplicateKey: a create raced with another transaction's create of the same resource. */
const DUPLICATE_KEY = 11000;

/**
 * A transient error of a reachable deployment (typically WriteConflict) reruns the transaction.
 * So does a duplicate key from a create that raced another create: on the rerun the other
 * record is in the snapshot, and the version check reports the conflict properly.
 */
function retryTransaction(err: unknown): boolean {
  if (isUnreachable(err)) return false;
  return hasLabel(err, 'TransientTransactionError') || (err as { code?: unknown } | null)?.code === DUPLICATE_KEY;
}

async function commitWithRetry(session: TransactionSession, policy: RetryPolicy): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await session.commitTransaction();
      return;
    } catch (err) {
      const again = hasLabel(err, 'UnknownTransactionCommitResult') && !isUnreachable(err) && attempt < policy.maxCommitAttempts;
      if (!again) throw err;
      await policy.sleep(policy.backoff(attempt));
    }
  }
}

async function abortQuietly(session: TransactionSession): Promise<void> {
  if (!session.inTransaction()) return;
  try {
    await session.abortTransaction();
  } catch {
    // The server aborts an unfinished transaction on its own; nothing was committed.
  }
}
